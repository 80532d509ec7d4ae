"""Reading Stripe objects: ids of expanded or plain references, amounts, metadata, times."""

from datetime import UTC, datetime

from kernel.errors import ServiceError


class Skip(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The event is valid but has nothing to apply (it is marked ignored, with the reason)."""


def object_id(value) -> str:
    """A Stripe reference: an id string, or the expanded object carrying it."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def metadata_int(metadata: dict, key: str) -> int:
    raw = metadata.get(key)
    if raw in (None, ""):
        return 0
    raw = str(raw).strip()
    if not raw.isdigit():
        raise ServiceError(
            "metadata_invalid", f"metadata.{key} must be a whole number, not {raw!r}."
        )
    return int(raw)


def amount_of(obj: dict, key: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ServiceError("amount_invalid", f"{key} is missing or not a whole number.")
    return value


def placed_at(obj: dict) -> datetime | None:
    created = obj.get("created")
    if isinstance(created, int) and not isinstance(created, bool):
        return datetime.fromtimestamp(created, tz=UTC)
    return None


def wants_event(handler):
    """Mark a handler that needs the whole event (its `created` time, its `api_version`), not
    only data.object: it is called as handler(obj, event=event)."""
    handler.wants_event = True
    return handler
