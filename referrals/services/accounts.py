"""Binding a link referral to the account a shopper creates."""

from django.db import IntegrityError, transaction

from referrals.links.cookies import LinkReferral
from referrals.models import ReferredAccount
from referrals.services.codes import repcode_find, repcode_unusable_reason


def account_bind_referral(*, user, link: LinkReferral | None) -> ReferredAccount | None:
    """Remember which code referred `user`; the first referral wins, and the advocate can't
    refer themselves."""
    if link is None:
        return None
    rep = repcode_find(link.code)
    if repcode_unusable_reason(rep) is not None or rep.advocate.user_id == user.pk:
        return None
    try:
        with transaction.atomic():
            referred, _ = ReferredAccount.objects.get_or_create(
                user=user,
                defaults={
                    "rep_code": rep,
                    "clicked_at": link.clicked_at,
                    "visitor_id": link.visitor_id,
                },
            )
    except IntegrityError:
        referred = ReferredAccount.objects.get(user=user)
    return referred
