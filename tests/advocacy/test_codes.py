import pytest
import shortuuid
from django.db import IntegrityError, transaction

from advocacy import codes
from advocacy.models import RepCode
from advocacy.services import repcode_create_vanity, repcode_deactivate, repcode_issue
from kernel.errors import ServiceError
from referrals.services.codes import repcode_find, repcode_unusable_reason
from tests.factories import AdvocateFactory, RepCodeFactory

LOOK_ALIKES = set("0O1IL")


def test_codes_come_from_a_shortuuid_generator_over_the_unambiguous_alphabet():
    assert isinstance(codes._generator, shortuuid.ShortUUID)
    assert set(codes._generator.get_alphabet()) == set(codes.ALPHABET)


def test_alphabet_leaves_out_look_alike_characters():
    assert not LOOK_ALIKES & set(codes.ALPHABET)
    assert len(set(codes.ALPHABET)) == len(codes.ALPHABET)


def test_code_space_is_at_least_a_trillion():
    assert codes.LENGTH >= 8
    assert len(codes.ALPHABET) ** codes.LENGTH >= 10**12


def test_random_codes_are_long_upper_case_and_drawn_from_the_alphabet():
    generated = [codes.random_code() for _ in range(500)]
    for code in generated:
        assert len(code) == codes.LENGTH >= 8
        assert set(code) <= set(codes.ALPHABET)
        assert code == code.upper()
    assert len(set(generated)) == len(generated)


def test_normalise_code_upper_cases_and_strips():
    assert codes.normalise_code("  anna10 ") == "ANNA10"
    assert codes.normalise_code(None) == ""


@pytest.mark.django_db
class TestStoredCodes:
    def test_issued_code_is_stored_upper_case(self):
        rep = repcode_issue(advocate=AdvocateFactory())
        rep.refresh_from_db()
        assert rep.code == rep.code.upper()
        assert len(rep.code) >= 8

    def test_database_rejects_a_lower_case_code_that_bypasses_normalisation(self):
        advocate = AdvocateFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            RepCode.objects.create(code="abcdefgh", advocate=advocate)

    def test_database_rejects_an_update_to_lower_case(self):
        rep = RepCodeFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            RepCode.objects.filter(pk=rep.pk).update(code="lower-case")

    def test_database_rejects_the_same_code_twice(self):
        rep = RepCodeFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            RepCode.objects.create(code=rep.code, advocate=AdvocateFactory())

    def test_vanity_code_is_normalised_to_upper_case(self):
        rep = repcode_create_vanity(advocate=AdvocateFactory(), code="  anna10 ")
        rep.refresh_from_db()
        assert rep.code == "ANNA10"
        assert rep.is_vanity

    def test_vanity_code_taken_in_another_letter_case_is_refused(self):
        repcode_create_vanity(advocate=AdvocateFactory(), code="ANNA10")
        other = AdvocateFactory()
        with pytest.raises(ServiceError) as exc:
            repcode_create_vanity(advocate=other, code="anna10")
        assert exc.value.code == "code_taken"
        assert RepCode.objects.filter(code="ANNA10").count() == 1
        assert not other.codes.exists()

    def test_vanity_code_taken_by_another_programme_is_refused(self):
        """Unique across the whole site, not per programme."""
        repcode_create_vanity(advocate=AdvocateFactory(), code="SUMMER")
        with pytest.raises(ServiceError) as exc:
            repcode_create_vanity(advocate=AdvocateFactory(), code="Summer")
        assert exc.value.code == "code_taken"

    @pytest.mark.parametrize("bad", ["no spaces", "-LEADING", "AB", "X" * 33, "ÄPFEL10"])
    def test_malformed_vanity_code_is_a_service_error_and_stores_nothing(self, bad):
        advocate = AdvocateFactory()
        with pytest.raises(ServiceError) as exc:
            repcode_create_vanity(advocate=advocate, code=bad)
        assert exc.value.code == "code_invalid"
        assert exc.value.field == "code"
        assert not advocate.codes.exists()

    @pytest.mark.parametrize("typed", ["anna10", "ANNA10", "Anna10", " aNnA10 "])
    def test_code_is_found_whatever_the_letter_case(self, typed):
        rep = repcode_create_vanity(advocate=AdvocateFactory(), code="ANNA10")
        assert repcode_find(typed) == rep

    @pytest.mark.parametrize("typed", ["", "   ", "X" * 33, "NOSUCHCODE"])
    def test_unknown_or_impossible_code_finds_nothing(self, typed):
        RepCodeFactory()
        assert repcode_find(typed) is None

    def test_deactivated_code_still_resolves_but_is_unusable(self):
        """Codes are deactivated, never deleted: old links keep resolving to someone."""
        rep = repcode_deactivate(rep_code=RepCodeFactory())
        found = repcode_find(rep.code)
        assert found == rep
        assert repcode_unusable_reason(found)[0] == "code_inactive"

    def test_collision_on_issue_retries_with_a_new_code(self, monkeypatch):
        taken = RepCodeFactory().code
        fresh = iter([taken, taken, "ZZZZZZZZZ"])
        monkeypatch.setattr("advocacy.services.random_code", lambda: next(fresh))
        rep = repcode_issue(advocate=AdvocateFactory())
        assert rep.code == "ZZZZZZZZZ"

    def test_issue_gives_up_with_a_service_error_when_every_attempt_collides(self, monkeypatch):
        taken = RepCodeFactory().code
        monkeypatch.setattr("advocacy.services.random_code", lambda: taken)
        advocate = AdvocateFactory()
        with pytest.raises(ServiceError) as exc:
            repcode_issue(advocate=advocate)
        assert exc.value.code == "code_collision"
        assert not advocate.codes.exists()
