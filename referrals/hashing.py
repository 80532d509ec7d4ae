"""Keyed hashes for personal data we only need to compare (emails, IP addresses)."""

import hashlib
import hmac

from .conf import app_settings

_GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}


def normalise_email(email: str) -> str:
    """The form two addresses share when they reach the same inbox.

    Lower-case, no "+tag", and for Gmail no dots: self-referrers use all three tricks.
    """
    email = (email or "").strip().lower()
    if "@" not in email:
        return email
    local, domain = email.rsplit("@", 1)
    local = local.split("+", 1)[0]
    if domain in _GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def keyed_hash(kind: str, value: str) -> str:
    if not value:
        return ""
    key = f"{app_settings.HASH_SALT}:{kind}".encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def email_hash(email: str) -> str:
    return keyed_hash("email", normalise_email(email))


def ip_hash(ip: str) -> str:
    return keyed_hash("ip", ip or "")
