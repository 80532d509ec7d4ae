"""Streetteam settings: one module, every value from the environment.

The defaults are the embedded ones (`make run`, tests): SQLite, eager Celery, console email, local
memory cache, the sandbox storefront on. Production sets DEBUG=false and must provide SECRET_KEY,
ALLOWED_HOSTS and DATABASE_URL; it refuses to start without a secret key.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from kernel.secret_file import secret_from_file

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# ------------------------------------------------------------------------------
# Core
# https://docs.djangoproject.com/en/5.2/ref/settings/#debug
DEBUG = env.bool("DEBUG", default=True)
# https://docs.djangoproject.com/en/5.2/ref/settings/#secret-key
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")
    # A development install generates its own random key once, into var/ (as `make run-prod`
    # does): a key in the repository would let anyone forge its signed links and cookies.
    SECRET_KEY = secret_from_file(BASE_DIR / "var" / "secret_key")
# https://docs.djangoproject.com/en/5.2/ref/settings/#allowed-hosts
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
# The public address of the site: used in links advocates share and in emails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
SITE_ID = 1

# ------------------------------------------------------------------------------
# Applications
INSTALLED_APPS = [
    # Django
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "csp",
    # Wagtail
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    # Accounts
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # REST API (its Swagger UI is served from its own static files, no CDN)
    "ninja",
    # Streetteam (cms -> referrals -> advocacy -> accounts)
    "accounts",
    "advocacy",
    "referrals",
    "cms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.StaffMFARequiredMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
                "config.context_processors.site",
            ],
        },
    },
]

# ------------------------------------------------------------------------------
# Database
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-db-url
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the click drain and page requests overlap without "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)

# ------------------------------------------------------------------------------
# Cache (code lookups, rate limits)
# https://docs.djangoproject.com/en/5.2/topics/cache/
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://streetteam")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # The same backend, reusing its redis client (config/redis_cache.py).
    CACHES["default"]["BACKEND"] = "config.redis_cache.RedisCache"

# ------------------------------------------------------------------------------
# Passwords and accounts (django-allauth)
# https://docs.allauth.org/en/latest/account/configuration.html
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
WAGTAIL_FRONTEND_LOGIN_URL = "/account/login/"

# ------------------------------------------------------------------------------
# One login, two factors, re-authentication (allauth for everyone, the Wagtail admin included)
# https://docs.allauth.org/en/latest/account/configuration.html
# https://docs.allauth.org/en/latest/mfa/configuration.html
# The admin signs in, resets and changes passwords and email addresses only through allauth's
# pages (its throttles, lockout and verification); config/urls.py sends Wagtail's own login and
# reset URLs there, and these switch off Wagtail's password and email forms.
WAGTAILADMIN_LOGIN_URL = "account_login"
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAIL_EMAIL_MANAGEMENT_ENABLED = False
# Adding, removing or promoting an email address and changing the password ask for the password
# again (a stolen session alone can't take the account over), and each change is mailed to the
# address it moves away from (accounts.adapters.AccountAdapter.send_notification_mail).
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
# Authenticator apps (TOTP) with recovery codes: optional for advocates.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Streetteam"
# Staff (anyone who may open the Wagtail admin) must set up an authenticator app before any admin
# page (accounts.middleware). On by default in production; off for `make run`'s demo logins.
STREETTEAM_STAFF_MFA_REQUIRED = env.bool("STREETTEAM_STAFF_MFA_REQUIRED", default=not DEBUG)

# ------------------------------------------------------------------------------
# Email
# https://docs.djangoproject.com/en/5.2/topics/email/
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Streetteam <hello@streetteam.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# ------------------------------------------------------------------------------
# Celery
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# With no broker, tasks run in-process at once: the embedded default for `make run` and tests.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Processes per worker; unset means one per CPU. Queues, routes and beat: config/celery.py.
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=0) or None

# ------------------------------------------------------------------------------
# Internationalisation
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ------------------------------------------------------------------------------
# Static and media files
STATIC_URL = "/static/"
# Where collectstatic gathers files for WhiteNoise to serve (with DEBUG=false, run it first).
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# ------------------------------------------------------------------------------
# Wagtail
# https://docs.wagtail.org/en/stable/reference/settings.html
WAGTAIL_SITE_NAME = "Streetteam"
WAGTAILADMIN_BASE_URL = SITE_URL
WAGTAILDOCS_EXTENSIONS = ["csv", "pdf", "txt"]
# The admin neither asks releases.wagtail.org for updates nor loads avatars from Gravatar (which
# would tell a third party who the managers are); the CSP allows neither anyway.
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAIL_GRAVATAR_PROVIDER_URL = None

# ------------------------------------------------------------------------------
# Security
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
# https://docs.djangoproject.com/en/5.2/ref/settings/#csrf-failure-view
# Our own page: Django's default one is styled inline, which our CSP blocks.
CSRF_FAILURE_VIEW = "config.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# ------------------------------------------------------------------------------
# Content Security Policy (django-csp), enforced in development too so a violation shows up
# before production. Templates carry no inline script, <style> or style="" (per-item values
# travel in data- attributes that static/js/site.js applies).
# https://django-csp.readthedocs.io/en/latest/configuration.html
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        # Connect onboarding posts to us and is redirected to Stripe: browsers apply
        # form-action to where a form submission ends up, redirects included.
        "form-action": ["'self'", "https://connect.stripe.com"],
        "base-uri": ["'self'"],
    },
}
# Wagtail's admin still inlines some scripts and styles (widgets, panels, the rich text
# editor) and frames its own page previews, so under /admin/ these directives replace ours
# (config/csp.py); the rest of the policy (object-src, form-action, base-uri...) still holds.
STREETTEAM_CSP_ADMIN_PREFIX = "/admin/"
STREETTEAM_CSP_ADMIN_REPLACE = {
    "script-src": ["'self'", "'unsafe-inline'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "frame-ancestors": ["'self'"],
}
# Wagtail renders a page preview as a request for the page's own URL, inside the admin's frame.
STREETTEAM_CSP_PREVIEW_REPLACE = {"frame-ancestors": ["'self'"]}

# ------------------------------------------------------------------------------
# Logging
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Wagtail logs every page action and background search-index task at INFO.
        "wagtail": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
        "celery": {"level": "WARNING"},
        # The in-memory broker of the eager default has no host name, which kombu warns about.
        "kombu.connection": {"level": "ERROR"},
    },
}

# ------------------------------------------------------------------------------
# Streetteam (read through referrals.conf / advocacy.conf, which hold the defaults)
# The sandbox storefront: a demo shop for trying the loop without a real store.
STREETTEAM_SANDBOX_STORE = env.bool("STREETTEAM_SANDBOX_STORE", default=DEBUG)
# Seconds between flushes of the in-process click buffer; 0 disables the flusher thread (tests
# drain explicitly). Ignored when STREETTEAM_CLICK_BUFFER_URL points at Redis.
STREETTEAM_CLICK_FLUSH_SECONDS = env.float("STREETTEAM_CLICK_FLUSH_SECONDS", default=1.0)
# With the Redis buffer: how long a web process gathers clicks before one RPUSH sends them all
# (a hard crash loses at most that much; 0 = one RPUSH on each request).
STREETTEAM_CLICK_PUSH_SECONDS = env.float("STREETTEAM_CLICK_PUSH_SECONDS", default=0.05)
STREETTEAM_CLICK_BUFFER_URL = env.str("STREETTEAM_CLICK_BUFFER_URL", default="")
# Seconds /r/<CODE> answers from the cache; edits to codes, advocates, programmes and campaign
# pages invalidate it at once (referrals.links.cache). Several workers need a shared cache
# (CACHE_URL).
STREETTEAM_TARGET_CACHE_SECONDS = env.int("STREETTEAM_TARGET_CACHE_SECONDS", default=300)
# A Stripe payout processing longer than this is settled from Stripe (payouts_recover_stuck).
STREETTEAM_PAYOUT_STUCK_MINUTES = env.int("STREETTEAM_PAYOUT_STUCK_MINUTES", default=120)
# An order placed longer ago than this is refused (placed_at_invalid); holds count from receipt.
STREETTEAM_ORDER_MAX_AGE_DAYS = env.int("STREETTEAM_ORDER_MAX_AGE_DAYS", default=90)
# Four eyes: a payout batch whose total is above this (minor units of the batch's currency:
# 50000 = 500.00 EUR/USD/GBP, 50,000 JPY) needs a second manager, unless its programme sets a
# limit of its own. On by default because one manager alone paying a large batch is the risk
# the rule exists for; 0 turns the default off (not recommended).
STREETTEAM_PAYOUT_DUAL_APPROVAL_ABOVE = env.int(
    "STREETTEAM_PAYOUT_DUAL_APPROVAL_ABOVE", default=50_000
)
# How many proxies in front of the app append to X-Forwarded-For (a TLS proxy: 1). The client
# address every rate limit and IP hash uses is the Nth from the right; 0 ignores the header
# (kernel/client_ip.py). allauth's limits use the same address (accounts.adapters).
STREETTEAM_TRUSTED_PROXY_HOPS = env.int("STREETTEAM_TRUSTED_PROXY_HOPS", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = STREETTEAM_TRUSTED_PROXY_HOPS
# Misses per IP address ("count/seconds") before failed code lookups and /r/ misses get 429.
STREETTEAM_RATE_LIMITS = {
    "code_lookup": env.str("STREETTEAM_RATE_LIMIT_CODE_LOOKUP", default="30/600"),
    "redirect_miss": env.str("STREETTEAM_RATE_LIMIT_REDIRECT_MISS", default="30/600"),
}
# The API's Swagger UI (/api/v1/docs): on in development, off in production unless enabled.
# The OpenAPI document (/api/v1/openapi.json) is always served.
STREETTEAM_API_DOCS = env.bool("STREETTEAM_API_DOCS", default=DEBUG)
# Salt for hashing IP addresses and emails; defaults to a value derived from SECRET_KEY.
STREETTEAM_HASH_SALT = env.str("STREETTEAM_HASH_SALT", default="")

# ------------------------------------------------------------------------------
# Stripe (off when STRIPE_SECRET_KEY is empty)
# https://docs.stripe.com/keys
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
# Several secrets, comma-separated, so a rotated endpoint secret keeps working during the switch.
STRIPE_WEBHOOK_SECRETS = env.list("STRIPE_WEBHOOK_SECRETS", default=[])
# Tests point this at a local fake server; empty means Stripe's own API.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
