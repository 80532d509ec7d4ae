"""The referrals app's own settings, with their defaults (allauth's app_settings pattern).

Each is read from django.conf.settings once and kept until a setting changes (Django sends
`setting_changed` from override_settings and the tests' `settings` fixture): the click and API
hot paths read several on every request, and a setting left at its default costs Django's
settings object a caught AttributeError each time.
"""

from django.conf import settings
from django.core.signals import setting_changed


class AppSettings:
    def __init__(self):
        self._values: dict = {}

    def _setting(self, name: str, default):
        try:
            return self._values[name]
        except KeyError:
            value = self._values[name] = getattr(settings, name, default)
            return value

    def forget(self, **kwargs) -> None:
        self._values.clear()

    @property
    def COOKIE_NAME(self) -> str:
        return self._setting("STREETTEAM_COOKIE_NAME", "st_ref")

    @property
    def VISITOR_COOKIE_NAME(self) -> str:
        return self._setting("STREETTEAM_VISITOR_COOKIE_NAME", "st_vid")

    @property
    def SANDBOX_STORE(self) -> bool:
        return self._setting("STREETTEAM_SANDBOX_STORE", False)

    @property
    def CLICK_FLUSH_SECONDS(self) -> float:
        return self._setting("STREETTEAM_CLICK_FLUSH_SECONDS", 1.0)

    @property
    def CLICK_PUSH_SECONDS(self) -> float:
        return self._setting("STREETTEAM_CLICK_PUSH_SECONDS", 0.05)

    @property
    def CLICK_BUFFER_URL(self) -> str:
        return self._setting("STREETTEAM_CLICK_BUFFER_URL", "")

    @property
    def CLICK_BATCH_SIZE(self) -> int:
        return self._setting("STREETTEAM_CLICK_BATCH_SIZE", 5000)

    @property
    def PAYOUT_DUAL_APPROVAL_ABOVE(self) -> int:
        """A batch total (minor units of its currency) above which a second manager must
        approve, for programmes that set no limit of their own; 0 turns the default off."""
        return self._setting("STREETTEAM_PAYOUT_DUAL_APPROVAL_ABOVE", 50_000)

    @property
    def TARGET_CACHE_SECONDS(self) -> int:
        """How long /r/<CODE> trusts a cached code lookup (changes invalidate it sooner)."""
        return self._setting("STREETTEAM_TARGET_CACHE_SECONDS", 300)

    @property
    def RATE_LIMITS(self) -> dict:
        """Misses allowed per IP address, as "count/seconds", before answers turn to 429."""
        limits = self._values.get("rate_limits")
        if limits is None:
            defaults = {"code_lookup": "30/600", "redirect_miss": "30/600"}
            configured = getattr(settings, "STREETTEAM_RATE_LIMITS", {})
            limits = self._values["rate_limits"] = {**defaults, **configured}
        return limits

    def rate_limit(self, scope: str) -> tuple[int, int]:
        """(misses allowed, window in seconds) for `scope`, parsed from RATE_LIMITS once."""
        key = ("rate_limit", scope)
        parsed = self._values.get(key)
        if parsed is None:
            count, _, seconds = self.RATE_LIMITS[scope].partition("/")
            parsed = self._values[key] = (int(count), int(seconds))
        return parsed

    @property
    def HASH_SALT(self) -> str:
        return self._setting("STREETTEAM_HASH_SALT", "") or settings.SECRET_KEY

    @property
    def PAYOUT_STUCK_MINUTES(self) -> int:
        """A backend payout processing this long is stuck: the payout task's retries (about
        half an hour with backoff) are over, and the recovery asks the backend about it."""
        return self._setting("STREETTEAM_PAYOUT_STUCK_MINUTES", 120)

    @property
    def ORDER_MAX_AGE_DAYS(self) -> int:
        """How far in the past an order's `placed_at` may be when it reaches us: late
        integrations and Stripe's 30 days of event history fit; a years-old order is a typo
        or a replay, and is refused rather than attributed."""
        return self._setting("STREETTEAM_ORDER_MAX_AGE_DAYS", 90)


app_settings = AppSettings()
setting_changed.connect(app_settings.forget, dispatch_uid="streetteam-referrals-app-settings")
