import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from advocacy.models import Advocate, Programme, RepCode
from advocacy.services import programme_join
from kernel.errors import ServiceError
from tests.factories import AdvocateFactory, ProgrammeFactory, UserFactory

pytestmark = pytest.mark.django_db


class TestProgrammeJoinService:
    def test_verified_user_who_accepts_terms_is_an_active_advocate_with_a_code_at_once(
        self, programme
    ):
        user = UserFactory()
        advocate = programme_join(user=user, programme=programme, accept_terms=True)
        assert advocate.status == Advocate.Status.ACTIVE
        assert advocate.joined_at is not None
        assert advocate.terms_accepted_at is not None
        codes = list(advocate.codes.filter(is_active=True))
        assert len(codes) == 1
        assert codes[0].code == codes[0].code.upper()
        assert len(codes[0].code) >= 8

    def test_unverified_user_is_refused_and_nothing_is_created(self, programme):
        user = UserFactory(verified=False)
        with pytest.raises(ServiceError) as exc:
            programme_join(user=user, programme=programme, accept_terms=True)
        assert exc.value.code == "email_unverified"
        assert not Advocate.objects.exists()
        assert not RepCode.objects.exists()

    def test_verified_secondary_address_does_not_count_for_the_login_email(self, programme):
        """Only the account's own email address, verified, lets a user join."""
        user = UserFactory(verified=False)
        user.emailaddress_set.create(email="other@example.com", verified=True, primary=False)
        with pytest.raises(ServiceError) as exc:
            programme_join(user=user, programme=programme, accept_terms=True)
        assert exc.value.code == "email_unverified"

    def test_not_accepting_the_terms_is_refused(self, programme):
        with pytest.raises(ServiceError) as exc:
            programme_join(user=UserFactory(), programme=programme, accept_terms=False)
        assert exc.value.code == "terms_not_accepted"
        assert exc.value.field == "accept_terms"
        assert not Advocate.objects.exists()

    @pytest.mark.parametrize(
        "status", [Programme.Status.DRAFT, Programme.Status.PAUSED, Programme.Status.ENDED]
    )
    def test_programme_that_is_not_active_takes_no_one(self, status):
        programme = ProgrammeFactory(status=status)
        with pytest.raises(ServiceError) as exc:
            programme_join(user=UserFactory(), programme=programme, accept_terms=True)
        assert exc.value.code == "programme_inactive"
        assert not Advocate.objects.exists()

    def test_joining_twice_gives_back_the_same_advocate_with_one_code(self, programme):
        user = UserFactory()
        first = programme_join(user=user, programme=programme, accept_terms=True)
        second = programme_join(user=user, programme=programme, accept_terms=True)
        assert first.pk == second.pk
        assert Advocate.objects.filter(user=user, programme=programme).count() == 1
        assert RepCode.objects.filter(advocate=first).count() == 1

    def test_database_allows_one_membership_per_user_and_programme(self, programme):
        existing = AdvocateFactory(programme=programme)
        with pytest.raises(IntegrityError), transaction.atomic():
            Advocate.objects.create(user=existing.user, programme=programme)

    def test_same_user_may_join_two_programmes(self):
        user = UserFactory()
        first = programme_join(user=user, programme=ProgrammeFactory(), accept_terms=True)
        second = programme_join(user=user, programme=ProgrammeFactory(), accept_terms=True)
        assert first.pk != second.pk
        assert first.codes.get().code != second.codes.get().code

    def test_banned_advocate_cannot_join_again(self, programme):
        banned = AdvocateFactory(programme=programme, status=Advocate.Status.BANNED)
        with pytest.raises(ServiceError) as exc:
            programme_join(user=banned.user, programme=programme, accept_terms=True)
        assert exc.value.code == "advocate_banned"
        banned.refresh_from_db()
        assert banned.status == Advocate.Status.BANNED
        assert not banned.codes.exists()

    def test_paused_advocate_joining_again_stays_paused(self, programme):
        paused = AdvocateFactory(programme=programme, status=Advocate.Status.PAUSED)
        result = programme_join(user=paused.user, programme=programme, accept_terms=True)
        assert result.pk == paused.pk
        result.refresh_from_db()
        assert result.status == Advocate.Status.PAUSED

    def test_invite_only_programme_refuses_someone_not_invited(self):
        programme = ProgrammeFactory(join_policy=Programme.JoinPolicy.INVITE)
        with pytest.raises(ServiceError) as exc:
            programme_join(user=UserFactory(), programme=programme, accept_terms=True)
        assert exc.value.code == "invite_only"
        assert not Advocate.objects.exists()

    def test_invited_user_taking_up_the_invitation_becomes_active_with_a_code(self):
        programme = ProgrammeFactory(join_policy=Programme.JoinPolicy.INVITE)
        invited = AdvocateFactory(
            programme=programme,
            status=Advocate.Status.INVITED,
            joined_at=None,
            terms_accepted_at=None,
        )
        advocate = programme_join(user=invited.user, programme=programme, accept_terms=True)
        assert advocate.pk == invited.pk
        advocate.refresh_from_db()
        assert advocate.status == Advocate.Status.ACTIVE
        assert advocate.joined_at is not None
        assert advocate.codes.filter(is_active=True).count() == 1

    def test_invited_user_must_still_accept_the_terms(self):
        programme = ProgrammeFactory(join_policy=Programme.JoinPolicy.INVITE)
        invited = AdvocateFactory(programme=programme, status=Advocate.Status.INVITED)
        with pytest.raises(ServiceError) as exc:
            programme_join(user=invited.user, programme=programme, accept_terms=False)
        assert exc.value.code == "terms_not_accepted"
        invited.refresh_from_db()
        assert invited.status == Advocate.Status.INVITED


def assert_refused_with(response, message):
    """The service's reason is on the form (the page explains the same state in its words)."""
    errors = response.context["form"].non_field_errors()
    assert any(message in error for error in errors), errors


class TestJoinView:
    def url(self, programme):
        return reverse("programme_join", kwargs={"slug": programme.slug})

    def test_anonymous_visitor_sees_the_programme_page(self, client, programme):
        response = client.get(self.url(programme))
        assert response.status_code == 200
        assert programme.name in response.text

    def test_unknown_programme_is_404(self, client):
        response = client.get(reverse("programme_join", kwargs={"slug": "no-such-programme"}))
        assert response.status_code == 404

    def test_verified_user_joins_and_lands_on_the_dashboard(self, client, login, programme):
        user = UserFactory()
        login(user)
        response = client.post(self.url(programme), {"accept_terms": "on"})
        assert response.status_code == 302
        assert response["Location"] == reverse("dashboard")
        advocate = Advocate.objects.get(user=user, programme=programme)
        assert advocate.status == Advocate.Status.ACTIVE
        assert advocate.codes.filter(is_active=True).count() == 1

        dashboard = client.get(response["Location"])
        assert advocate.codes.get().code in dashboard.text

    def test_posting_twice_keeps_one_membership(self, client, login, programme):
        user = UserFactory()
        login(user)
        client.post(self.url(programme), {"accept_terms": "on"})
        response = client.post(self.url(programme), {"accept_terms": "on"})
        assert response.status_code == 302
        assert Advocate.objects.filter(user=user).count() == 1
        assert RepCode.objects.filter(advocate__user=user).count() == 1

    def test_not_ticking_the_terms_shows_the_field_error_with_status_400(
        self, client, login, programme
    ):
        login(UserFactory())
        response = client.post(self.url(programme), {})
        assert response.status_code == 400
        assert response.context["form"].errors["accept_terms"] == [
            "Please accept the programme terms to join."
        ]
        assert "Please accept the programme terms to join." in response.text
        assert not Advocate.objects.exists()

    def test_unverified_user_sees_why_with_status_400(self, client, login, programme):
        login(UserFactory(verified=False))
        response = client.post(self.url(programme), {"accept_terms": "on"})
        assert response.status_code == 400
        assert_refused_with(response, "verify your email address")
        assert "Confirm your email first" in response.text
        assert not Advocate.objects.exists()

    def test_inactive_programme_refuses_with_status_400(self, client, login):
        programme = ProgrammeFactory(status=Programme.Status.PAUSED)
        login(UserFactory())
        response = client.post(self.url(programme), {"accept_terms": "on"})
        assert response.status_code == 400
        assert_refused_with(response, "not taking new advocates")
        assert "taking new advocates" in response.text
        assert not Advocate.objects.exists()

    def test_banned_user_is_refused_with_status_400(self, client, login, programme):
        banned = AdvocateFactory(programme=programme, status=Advocate.Status.BANNED)
        login(banned.user)
        response = client.post(self.url(programme), {"accept_terms": "on"})
        assert response.status_code == 400
        assert_refused_with(response, "can no longer join")
        assert "Your membership is banned" in response.text
        banned.refresh_from_db()
        assert banned.status == Advocate.Status.BANNED

    def test_invite_only_programme_refuses_with_status_400(self, client, login):
        programme = ProgrammeFactory(join_policy=Programme.JoinPolicy.INVITE)
        login(UserFactory())
        response = client.post(self.url(programme), {"accept_terms": "on"})
        assert response.status_code == 400
        assert_refused_with(response, "by invitation only")
        assert "By invitation only" in response.text
        assert not Advocate.objects.exists()

    def test_anonymous_post_joins_no_one(self, client, programme):
        response = client.post(self.url(programme), {"accept_terms": "on"})
        assert response.status_code == 200
        assert "Sign up to join" in response.text
        assert not Advocate.objects.exists()
