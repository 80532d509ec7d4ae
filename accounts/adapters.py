from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """allauth customisation point; signup stays open (programmes decide who may join)."""

    def is_open_for_signup(self, request):
        return True
