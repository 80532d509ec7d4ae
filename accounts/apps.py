from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Registration only: the receivers of allauth's signals.
        from accounts import receivers  # noqa: F401
