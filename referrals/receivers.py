"""Receivers for other packages' signals; each calls one service."""

from allauth.account.signals import user_signed_up
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from wagtail.signals import page_published, page_unpublished

from advocacy.cache import targets_invalidate, targets_invalidate_after_save
from advocacy.models import Advocate, Programme, RepCode

from .cookies import referral_from_request
from .services.accounts import account_bind_referral


@receiver(user_signed_up, dispatch_uid="referrals_bind_signup")
def bind_referral_on_signup(sender, request, user, **kwargs):
    # Runs inside the signup request's transaction, before the session key rotates.
    if request is not None:
        account_bind_referral(user=user, link=referral_from_request(request))


# /r/<CODE> caches code lookups (referrals.cache). advocacy's services invalidate them; these
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
