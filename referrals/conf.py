"""The referrals app's own settings, with their defaults (allauth's app_settings pattern)."""

from django.conf import settings


class AppSettings:
    @property
    def COOKIE_NAME(self) -> str:
        return getattr(settings, "STREETTEAM_COOKIE_NAME", "st_ref")

    @property
    def VISITOR_COOKIE_NAME(self) -> str:
        return getattr(settings, "STREETTEAM_VISITOR_COOKIE_NAME", "st_vid")

    @property
    def SANDBOX_STORE(self) -> bool:
        return getattr(settings, "STREETTEAM_SANDBOX_STORE", False)

    @property
    def CLICK_FLUSH_SECONDS(self) -> float:
        return getattr(settings, "STREETTEAM_CLICK_FLUSH_SECONDS", 1.0)

    @property
    def CLICK_BUFFER_URL(self) -> str:
        return getattr(settings, "STREETTEAM_CLICK_BUFFER_URL", "")

    @property
    def CLICK_BATCH_SIZE(self) -> int:
        return getattr(settings, "STREETTEAM_CLICK_BATCH_SIZE", 5000)

    @property
    def TARGET_CACHE_SECONDS(self) -> int:
        """How long /r/<CODE> trusts a cached code lookup (changes invalidate it sooner)."""
        return getattr(settings, "STREETTEAM_TARGET_CACHE_SECONDS", 300)

    @property
    def RATE_LIMITS(self) -> dict:
        """Misses allowed per IP address, as "count/seconds", before answers turn to 429."""
        defaults = {"code_lookup": "30/600", "redirect_miss": "30/600"}
        return {**defaults, **getattr(settings, "STREETTEAM_RATE_LIMITS", {})}

    @property
    def HASH_SALT(self) -> str:
        return getattr(settings, "STREETTEAM_HASH_SALT", "") or settings.SECRET_KEY


app_settings = AppSettings()
