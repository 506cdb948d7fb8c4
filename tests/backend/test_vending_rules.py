"""Pure vending rules: the credit note's correcting posting (hypothesis properties)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backend.domain.ledger.rules import LedgerAccount, check_balanced, subledger_deltas
from backend.domain.vending.rules import PAYMENT_ACCOUNTS, credit_note_lines, vend_ledger_lines

amounts = st.integers(min_value=0, max_value=10**7)


@given(
    method=st.sampled_from(["cash", "card", "mobile_money", "bank"]),
    tender=st.integers(min_value=1, max_value=10**7),
    used=amounts,
    debt=amounts,
    fixed=amounts,
    taxes=amounts,
    change=amounts,
    held=amounts,
)
def test_a_credit_note_balances_never_overdraws_credit_and_refunds_the_rest(
    method: str, tender: int, used: int, debt: int, fixed: int, taxes: int, change: int, held: int
) -> None:
    # A sale that balances: tender + credit used = debt + fixed + energy + taxes + change.
    energy = tender + used - debt - fixed - taxes - change
    if energy < 0:
        return
    sale = vend_ledger_lines(
        currency="KES",
        account_id=7,
        payment_method=method,
        tender_minor=tender,
        credit_used_minor=used,
        debt_minor=debt,
        fixed_net_minor=fixed,
        energy_net_minor=energy,
        taxes=[("VAT", taxes)],
        change_minor=change,
    )
    lines, refund = credit_note_lines(sale, credit_held_minor=held)
    check_balanced(lines)  # raises when it does not balance
    credit_delta, debt_delta = subledger_deltas(lines).get(7, (0, 0))
    assert held + credit_delta >= 0, "the customer's credit would go below zero"
    assert debt_delta == debt  # the recovered debt is owed again
    paid_back = -sum(line.amount_minor for line in lines if line.account in PAYMENT_ACCOUNTS)
    assert paid_back == refund
    # Everything comes back, except the part of the kept remainder that was since spent.
    taken_back = change - used
    spent = max(0, taken_back - held)
    assert refund == tender - min(spent, tender)


def test_credit_note_of_a_sale_whose_remainder_is_untouched_is_the_exact_reversal() -> None:
    sale = vend_ledger_lines(
        currency="KES",
        account_id=1,
        payment_method="cash",
        tender_minor=10_000,
        credit_used_minor=0,
        debt_minor=1_000,
        fixed_net_minor=0,
        energy_net_minor=7_700,
        taxes=[("VAT", 1_232)],
        change_minor=68,
    )
    lines, refund = credit_note_lines(sale, credit_held_minor=68)
    assert refund == 10_000
    assert sorted((line.account, line.amount_minor) for line in lines) == sorted(
        (line.account, -line.amount_minor) for line in sale
    )
    lines, refund = credit_note_lines(sale, credit_held_minor=20)  # 48 of the 68 were spent since
    assert refund == 10_000 - 48
    assert sum(line.amount_minor for line in lines if line.account is LedgerAccount.CASH) == -(10_000 - 48)


def test_the_api_reference_examples_are_valid_requests_and_responses() -> None:
    """The worked examples in the OpenAPI reference decode into the real request and response types."""
    import msgspec

    from backend.domain.vending import examples as ex
    from backend.domain.vending.schemas import (
        MeterLookupIn,
        MeterLookupOut,
        PurchaseIn,
        PurchaseOut,
        QuoteOut,
    )

    for example, shape in (
        (ex.PURCHASE_REQUEST, PurchaseIn),
        (ex.LOOKUP_REQUEST, MeterLookupIn),
        (ex.LOOKUP_RESPONSE, MeterLookupOut),
        (ex.TRIAL_RESPONSE, QuoteOut),
        (ex.PURCHASE_RESPONSE, PurchaseOut),
    ):
        decoded = msgspec.convert(example.value, shape, strict=False)
        assert msgspec.to_builtins(decoded) == {
            k: v
            for k, v in msgspec.to_builtins(example.value).items()
            if k in msgspec.structs.asdict(decoded)
        }
