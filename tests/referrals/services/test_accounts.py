from datetime import UTC, datetime

import pytest

from advocacy.models import Advocate
from referrals.links.cookies import LinkReferral
from referrals.models import ReferredAccount
from referrals.services.accounts import account_bind_referral
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CLICKED = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def link(code):
    return LinkReferral(code=code, visitor_id="abc123", clicked_at=CLICKED)


def test_binds_the_code_and_click_time_to_the_new_account(rep_code):
    user = UserFactory()
    referred = account_bind_referral(user=user, link=link(rep_code.code.lower()))
    assert referred.user == user
    assert referred.rep_code == rep_code
    assert referred.clicked_at == CLICKED
    assert referred.visitor_id == "abc123"


def test_first_referral_wins(rep_code, other_rep_code):
    user = UserFactory()
    account_bind_referral(user=user, link=link(rep_code.code))
    again = account_bind_referral(user=user, link=link(other_rep_code.code))
    assert again.rep_code == rep_code
    assert ReferredAccount.objects.get().rep_code == rep_code


def test_no_link_binds_nothing():
    assert account_bind_referral(user=UserFactory(), link=None) is None
    assert not ReferredAccount.objects.exists()


def test_advocate_cannot_refer_their_own_account(rep_code):
    assert account_bind_referral(user=rep_code.advocate.user, link=link(rep_code.code)) is None
    assert not ReferredAccount.objects.exists()


def test_unusable_code_binds_nothing(rep_code):
    Advocate.objects.filter(pk=rep_code.advocate_id).update(status=Advocate.Status.BANNED)
    assert account_bind_referral(user=UserFactory(), link=link(rep_code.code)) is None
    assert account_bind_referral(user=UserFactory(), link=link("NOSUCHCODE")) is None
    assert not ReferredAccount.objects.exists()
