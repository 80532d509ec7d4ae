"""Read queries for programmes and advocates, scoped to the signed-in user where it matters."""

from django.db.models import QuerySet

from advocacy.models import Advocate, Programme, RepCode


def programmes_open_to_join() -> QuerySet[Programme]:
    return Programme.objects.filter(status=Programme.Status.ACTIVE).order_by("name")


def advocacies_for_user(user) -> list[Advocate]:
    return list(
        Advocate.objects.filter(user=user)
        .exclude(status=Advocate.Status.BANNED)
        .select_related("programme")
        .order_by("created_at")
    )


def repcode_for_user(user, code: str) -> RepCode | None:
    """A code the user owns; None for anyone else's (never leak another advocate's codes)."""
    return (
        RepCode.objects.filter(code=code.upper(), advocate__user=user)
        .select_related("advocate__programme")
        .first()
    )
