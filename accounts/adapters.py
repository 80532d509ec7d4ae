from allauth.account.adapter import DefaultAccountAdapter

from kernel.client_ip import client_ip


class AccountAdapter(DefaultAccountAdapter):
    """allauth customisation point; signup stays open (programmes decide who may join)."""

    def is_open_for_signup(self, request):
        return True

    def get_client_ip(self, request):
        """The address allauth's rate limits (login, signup, password reset) key on: the same
        one as ours, so STREETTEAM_TRUSTED_PROXY_HOPS governs both."""
        return client_ip(request)
