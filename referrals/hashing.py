"""Keyed hashes for personal data we only need to compare (emails, IP addresses)."""

import functools
import hashlib
import hmac

from referrals.conf import app_settings

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


@functools.lru_cache(maxsize=16)
def _keyed(salt: str, kind: str):
    # The HMAC with its key already mixed in, copied for each value: every click hashes its IP.
    return hmac.new(f"{salt}:{kind}".encode(), digestmod=hashlib.sha256)


def keyed_hash(kind: str, value: str) -> str:
    if not value:
        return ""
    mac = _keyed(app_settings.HASH_SALT, kind).copy()
    mac.update(value.encode())
    return mac.hexdigest()


def email_hash(email: str) -> str:
    return keyed_hash("email", normalise_email(email))


def ip_hash(ip: str) -> str:
    return keyed_hash("ip", ip or "")
