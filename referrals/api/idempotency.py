"""The Idempotency-Key protocol of the merchant API's writes.

A client may send `Idempotency-Key: <anything unique>` with a write. The first answer to a key
(per API key) is stored with a hash of the request body; a repeat with the same body gets that
answer again (status 200), without running the write twice; a repeat with another body is
refused (`idempotency_key_reused`, 409). Two concurrent first requests may both run the write
(the services underneath are idempotent on their own ids); the first answer stored wins.
"""

import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from kernel.errors import ServiceError
from referrals.models import ApiKey, IdempotencyKey

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 255


def request_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class IdempotencyClaim:
    """What `idempotency_claim` found: `replay` holds the stored answer of a repeat (None for a
    first request, which the handler answers and then `record`s)."""

    api_key: ApiKey
    key: str  # "" when the request carried no key: nothing is stored or replayed
    request_hash: str
    replay: dict | None = None

    def record(self, *, status_code: int, response: dict) -> None:
        """Store the first answer to this key (JSON-safe), unless a concurrent twin did."""
        if not self.key or self.replay is not None:
            return
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(
                    api_key=self.api_key,
                    key=self.key,
                    request_hash=self.request_hash,
                    status_code=status_code,
                    response=json.loads(json.dumps(response, default=str)),
                )
        except IntegrityError:
            pass  # a concurrent twin stored the same answer first


def idempotency_claim(*, api_key: ApiKey, key: str, payload: dict) -> IdempotencyClaim:
    """Look the key up for this API key: a repeat of the same request carries the stored answer
    in `replay`; the key reused with another body raises ServiceError `idempotency_key_reused`."""
    key = (key or "").strip()[:KEY_MAX_LENGTH]
    if not key:
        return IdempotencyClaim(api_key=api_key, key="", request_hash="")
    claim = IdempotencyClaim(api_key=api_key, key=key, request_hash=request_hash(payload))
    stored = IdempotencyKey.objects.filter(api_key=api_key, key=key).first()
    if stored is not None:
        if stored.request_hash != claim.request_hash:
            raise ServiceError(
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different request.",
            )
        claim.replay = stored.response
    return claim
