"""Where a payout goes: the advocate's payout method and account, fixed on the payout when its
batch is approved (`Payout.destination_*`), and compared with the advocate's details later.

A change of details after approval must not redirect money the approvers approved to another
account, nor silently pay an account the advocate says is no longer theirs: the payout is held
until a manager with the payout permission confirms the new details
(`payouts.services.payout_destination_confirm`)."""

from dataclasses import dataclass

from django.db.models import Case, CharField, OuterRef, Subquery, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from advocacy.iban import mask_iban
from advocacy.models import Advocate
from referrals.models import Payout, PayoutBatch

METHOD_LABELS = {
    Advocate.PayoutMethod.BANK: "Bank transfer",
    Advocate.PayoutMethod.PAYPAL: "PayPal",
    Advocate.PayoutMethod.STRIPE_CONNECT: "Stripe Connect",
}


@dataclass(frozen=True)
class Destination:
    method: str
    account: str  # full: IBAN, PayPal email or Stripe account id
    holder: str = ""

    @property
    def label(self) -> str:
        """For people: the method and a masked account ("Bank transfer, IBAN •••• 3000")."""
        method = METHOD_LABELS.get(self.method, "No payout details")
        if not self.account:
            return method
        if self.method == Advocate.PayoutMethod.BANK:
            return f"{method}, IBAN {mask_iban(self.account)}"
        if self.method == Advocate.PayoutMethod.STRIPE_CONNECT:
            return f"{method}, account …{self.account[-4:]}"
        return f"{method}, {self.account}"


def destination_now(advocate: Advocate, backend: str) -> Destination:
    """Where a batch of `backend` would pay the advocate today (the Python twin of
    `destination_sql`: both must give the same answer)."""
    if backend == PayoutBatch.Backend.STRIPE_CONNECT:
        return Destination(Advocate.PayoutMethod.STRIPE_CONNECT, advocate.stripe_account_id or "")
    details = advocate.payout_details or {}
    account = ""
    if advocate.payout_method == Advocate.PayoutMethod.BANK:
        account = details.get("iban") or ""
    elif advocate.payout_method == Advocate.PayoutMethod.PAYPAL:
        account = details.get("email") or ""
    return Destination(advocate.payout_method or "", account, details.get("account_holder") or "")


def destination_fixed(payout: Payout) -> Destination:
    return Destination(
        payout.destination_method, payout.destination_account, payout.destination_holder
    )


def destination_changed(payout: Payout, backend: str) -> bool:
    """The advocate's details differ from those fixed at approval (or none were fixed, which
    only a payout from before snapshots existed can lack): hold it for a manager."""
    if payout.destination_fixed_at is None:
        return True
    return destination_now(payout.advocate, backend) != destination_fixed(payout)


def destination_sql(backend: str) -> dict:
    """`Payout.destination_*` as subqueries on the payout's advocate, for one UPDATE of a whole
    batch at approval (a batch may hold 100k payouts: no loop over rows)."""
    advocate = Advocate.objects.filter(pk=OuterRef("advocate_id"))
    if backend == PayoutBatch.Backend.STRIPE_CONNECT:
        return {
            "destination_method": Value(Advocate.PayoutMethod.STRIPE_CONNECT),
            "destination_account": Subquery(advocate.values("stripe_account_id")[:1]),
            "destination_holder": Value(""),
        }
    account = Coalesce(
        Case(
            When(payout_method=Advocate.PayoutMethod.BANK, then=KT("payout_details__iban")),
            When(payout_method=Advocate.PayoutMethod.PAYPAL, then=KT("payout_details__email")),
            default=Value(""),
            output_field=CharField(),
        ),
        Value(""),
    )
    holder = Coalesce(KT("payout_details__account_holder"), Value(""), output_field=CharField())
    return {
        "destination_method": Subquery(advocate.values("payout_method")[:1]),
        "destination_account": Subquery(advocate.annotate(account=account).values("account")[:1]),
        "destination_holder": Subquery(advocate.annotate(holder=holder).values("holder")[:1]),
    }
