"""Receivers for other packages' signals; each calls one service."""

from allauth.account.signals import user_signed_up
from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from wagtail.signals import page_published, page_unpublished

from advocacy.cache import targets_invalidate, targets_invalidate_after_save
from advocacy.models import Advocate, Programme, RepCode
from advocacy.signals import advocate_status_changed
from referrals.api.keys import api_key_forget_if_cached
from referrals.links.cookies import referral_from_request
from referrals.models import ApiKey, Store
from referrals.services.accounts import account_bind_referral
from referrals.services.audit import audit
from referrals.stripe.promotion_codes import stripe_mirror_after_save


# A manager paused, banned or reactivated an advocate: one audit row, in the same transaction.
@receiver(advocate_status_changed, dispatch_uid="referrals_audit_advocate_status")
def audit_advocate_status(sender, advocate, actor, before, after, reason, **kwargs):
    audit(
        actor=actor,
        action=ADVOCATE_STATUS_ACTIONS[after],
        obj=advocate,
        reason=reason,
        before=before,
        after=after,
    )


ADVOCATE_STATUS_ACTIONS = {
    Advocate.Status.PAUSED: "advocate_paused",
    Advocate.Status.BANNED: "advocate_banned",
    Advocate.Status.ACTIVE: "advocate_reactivated",
}


@receiver(user_signed_up, dispatch_uid="referrals_bind_signup")
def bind_referral_on_signup(sender, request, user, **kwargs):
    # Runs inside the signup request's transaction, before the session key rotates.
    if request is not None:
        account_bind_referral(user=user, link=referral_from_request(request))


# /r/<CODE> caches code lookups (referrals.links.cache). advocacy's services invalidate them; these
# catch what bypasses the services: Wagtail admin edits (a plain save) and cms pages, whose
# publishing changes where a programme's links land.
@receiver(post_save, sender=Programme, dispatch_uid="referrals_targets_programme_saved")
@receiver(post_save, sender=Advocate, dispatch_uid="referrals_targets_advocate_saved")
@receiver(post_save, sender=RepCode, dispatch_uid="referrals_targets_repcode_saved")
def forget_cached_targets_on_save(sender, update_fields=None, **kwargs):
    targets_invalidate_after_save(sender._meta.model_name, update_fields)


@receiver(post_delete, sender=Programme, dispatch_uid="referrals_targets_programme_deleted")
@receiver(post_delete, sender=Advocate, dispatch_uid="referrals_targets_advocate_deleted")
@receiver(post_delete, sender=RepCode, dispatch_uid="referrals_targets_repcode_deleted")
@receiver(page_published, dispatch_uid="referrals_targets_page_published")
@receiver(page_unpublished, dispatch_uid="referrals_targets_page_unpublished")
def forget_cached_targets(sender, **kwargs):
    targets_invalidate()


# Stripe mirrors programmes as coupons and rep codes as promotion codes; whatever saves them
# (services, the Wagtail admin) queues the sync after commit, when the integration is on.
@receiver(post_save, sender=Programme, dispatch_uid="referrals_stripe_programme_saved")
@receiver(post_save, sender=Advocate, dispatch_uid="referrals_stripe_advocate_saved")
@receiver(post_save, sender=RepCode, dispatch_uid="referrals_stripe_repcode_saved")
def mirror_to_stripe_on_save(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if not raw:  # fixtures being loaded are not changes to mirror
        stripe_mirror_after_save(
            sender._meta.model_name, instance.pk, created=created, update_fields=update_fields
        )


# Cached lookups show the advocate's first name (the /r/ greeting, GET /codes): a renamed user
# must show at once. A save that names its fields and not these (a login's last_login) doesn't.
@receiver(post_save, sender=get_user_model(), dispatch_uid="referrals_targets_user_saved")
def forget_cached_targets_on_rename(sender, update_fields=None, **kwargs):
    if update_fields is None or {"first_name", "email"} & set(update_fields):
        targets_invalidate()


# API keys are cached by prefix (services.api_keys); the services forget a key they change, and
# these catch what bypasses them (admin or shell edits of a key or of its programmes).
@receiver(post_save, sender=ApiKey, dispatch_uid="referrals_forget_api_key_saved")
def forget_cached_api_key(sender, instance, update_fields=None, **kwargs):
    # Marking a key used (last_used_at) changes nothing a request checks.
    if update_fields is None or set(update_fields) - {"last_used_at"}:
        api_key_forget_if_cached(instance)


@receiver(m2m_changed, sender=ApiKey.programmes.through, dispatch_uid="referrals_api_key_scope")
def forget_cached_api_key_scope(sender, instance, action, reverse, pk_set, **kwargs):
    if not action.startswith("post_"):
        return
    if not reverse:
        api_key_forget_if_cached(instance)
        return
    # From a programme's side: the keys added or removed, or (a clear) every key.
    keys = ApiKey.objects.filter(pk__in=pk_set) if pk_set else ApiKey.objects.all()
    for api_key in keys.only("pk", "prefix"):
        api_key_forget_if_cached(api_key)


# A store's programmes bound its keys' scope (api_key_scope): a change shows on the next request.
@receiver(m2m_changed, sender=Store.programmes.through, dispatch_uid="referrals_store_scope")
def forget_cached_api_keys_of_store(sender, instance, action, reverse, pk_set, **kwargs):
    if not action.startswith("post_"):
        return
    keys = ApiKey.objects.all()  # from a programme's side, a clear: every key
    if not reverse:
        keys = keys.filter(store=instance)
    elif pk_set:
        keys = keys.filter(store__in=pk_set)  # from a programme's side: these stores' keys
    for api_key in keys.only("pk", "prefix"):
        api_key_forget_if_cached(api_key)
