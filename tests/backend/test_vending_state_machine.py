"""A hypothesis state machine over the vending service: purchases, retries, reprints, reversal
requests, a supervisor's credit notes and bursts of concurrent duplicates, interleaved at random.
After every step: the ledger balances, customer balances match their entries (and a credit note never
takes back credit the customer has spent), no reference has two sales, every sale has its tokens, and
the customer's meter accepts every new token in the order it was issued."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import func, select

from backend.db.engine import create_engine, create_sessionmaker
from backend.domain.actor import Actor
from backend.domain.customers.models import Account
from backend.domain.errors import Conflict, NotFound
from backend.domain.keys.engine import SoftwareTokenEngine
from backend.domain.keys.service import keystore_for
from backend.domain.ledger import service as ledger
from backend.domain.vending import followups
from backend.domain.vending import service as vending
from backend.domain.vending.models import Vend, VendToken
from tests.conftest import make_settings
from tests.support import postgres
from tests.support.month_totals import kept_and_summed
from tests.support.world import build_world, virtual_meter

REFS = st.sampled_from([f"ref-{i}" for i in range(6)])
AMOUNTS = st.sampled_from([100, 20_000, 30_000, 75_000])


def machine_for(database_url: str, tmp: Path) -> type[RuleBasedStateMachine]:
    class VendingMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            if database_url.startswith("postgresql"):
                self.loop.run_until_complete(postgres.truncate_all(database_url))
            self.settings = make_settings(database_url, tmp)
            self.engine = create_engine(self.settings)
            self.maker = create_sessionmaker(self.engine)
            self.world = self.run(self._world())
            self.meter = virtual_meter(self.world)
            self.sent: dict[str, int] = {}  # ref -> amount first sent
            self.outcomes: dict[str, tuple[int, list[str]]] = {}  # ref -> (vend id, tokens)
            self.refused: set[str] = set()
            self.entered: set[str] = set()
            self.credited: set[str] = set()

        def run(self, coro: Any) -> Any:
            return self.loop.run_until_complete(coro)

        async def _world(self) -> Any:
            async with self.maker() as session:
                return await build_world(session, self.settings, debt_minor=7_000, fbe_eligible=True)

        async def _buy(self, ref: str, amount: int) -> vending.VendOutcome:
            async with self.maker() as session:
                engine = SoftwareTokenEngine.for_session(session, keystore_for(self.settings))
                request = vending.PurchaseRequest(
                    meter_number=self.world.meter_no,
                    amount_minor=amount,
                    currency="KES",
                    payment_method="cash",
                    channel="station",
                )
                return await vending.purchase(
                    session, self.settings, engine, self.world.cashier, client_ref=ref, request=request
                )

        def _record(self, ref: str, amount: int, outcome: vending.VendOutcome) -> None:
            tokens = [t.token for t in outcome.tokens]
            if ref in self.outcomes:
                assert self.outcomes[ref] == (outcome.vend.id, tokens), "a retry must give the same sale"
            else:
                self.sent[ref] = amount
                self.outcomes[ref] = (outcome.vend.id, tokens)
                if outcome.vend.status != "success":
                    self.refused.add(ref)
                for token in tokens:  # a new sale: its tokens go into the meter in issue order
                    self.meter.enter(token)

        @rule(ref=REFS, amount=AMOUNTS)
        def purchase(self, ref: str, amount: int) -> None:
            if ref in self.sent and self.sent[ref] != amount:
                with pytest.raises(Conflict):
                    self.run(self._buy(ref, amount))
                return
            self._record(ref, amount, self.run(self._buy(ref, amount)))

        @rule(ref=REFS, amount=AMOUNTS)
        def concurrent_duplicates(self, ref: str, amount: int) -> None:
            if ref in self.sent and self.sent[ref] != amount:
                return

            async def burst() -> list[vending.VendOutcome]:
                return list(await asyncio.gather(*(self._buy(ref, amount) for _ in range(5))))

            outcomes = self.run(burst())
            assert len({o.vend.id for o in outcomes}) == 1
            self._record(ref, amount, outcomes[0])

        @rule(ref=REFS)
        def retry(self, ref: str) -> None:
            async def ask() -> vending.VendOutcome:
                async with self.maker() as session:
                    return await vending.find(session, self.world.cashier, ref)

            if ref not in self.outcomes:
                with pytest.raises(NotFound):
                    self.run(ask())
                return
            found = self.run(ask())
            assert (found.vend.id, [t.token for t in found.tokens]) == self.outcomes[ref]

        @rule(ref=REFS, reprint_no=st.integers(0, 3))
        def reprint(self, ref: str, reprint_no: int) -> None:
            async def again() -> followups.FollowUp:
                async with self.maker() as session:
                    return await followups.reprint(
                        session, self.world.cashier, f"rp-{ref}-{reprint_no}", purchase_ref=ref
                    )

            if ref not in self.outcomes:
                with pytest.raises(NotFound):
                    self.run(again())
                return
            tokens = self.outcomes[ref][1]
            if ref in self.refused:
                with pytest.raises(Conflict):
                    self.run(again())
                return
            assert [t.token for t in self.run(again()).tokens] == tokens

        @rule(ref=REFS)
        def reversal_attempt(self, ref: str) -> None:
            async def reverse() -> followups.FollowUp:
                async with self.maker() as session:
                    return await followups.request_reversal(
                        session, self.world.cashier, ref, f"rv-{ref}", "test"
                    )

            if ref not in self.outcomes:
                with pytest.raises(NotFound):
                    self.run(reverse())
                return
            try:
                done = self.run(reverse())
            except Conflict:
                return  # a refused sale has nothing to reverse
            # Never a deletion: a request waits for a supervisor (or replays the decision made).
            assert done.request.status == ("approved" if ref in self.credited else "pending_approval")

        @rule(ref=REFS)
        def credit_note_approved(self, ref: str) -> None:
            supervisor = Actor(
                kind="user",
                id=90_000,
                name="supervisor",
                roles=frozenset({"supervisor"}),
                org_unit_id=self.world.org_unit_id,
                org_path=f"/{self.world.org_unit_id}/",
            )

            async def approve() -> str | None:
                # The cashier asks (or has asked) for the reversal; the supervisor approves it.
                async with self.maker() as session:
                    try:
                        asked = await followups.request_reversal(
                            session, self.world.cashier, ref, f"rv-{ref}", "test"
                        )
                    except (NotFound, Conflict):
                        return None  # never sold, or refused: nothing to credit
                async with self.maker() as session:
                    try:
                        decided = await followups.decide_credit_note(
                            session, supervisor, asked.request.id, approve=True
                        )
                    except Conflict:
                        return "already decided"
                return decided.status

            status = self.run(approve())
            assert status in (None, "approved", "already decided")
            if status == "approved":
                assert ref not in self.credited
                self.credited.add(ref)

        @invariant()
        def books_balance_and_every_sale_is_whole(self) -> None:
            async def check() -> None:
                async with self.maker() as session, session.begin():
                    assert sum((await ledger.trial_balance(session)).values()) == 0
                    assert await ledger.unbalanced_transactions(session) == []
                    assert await ledger.subledger_mismatches(session) == []
                    per_ref = (
                        await session.execute(
                            select(Vend.client_ref, func.count()).group_by(Vend.client_key, Vend.client_ref)
                        )
                    ).all()
                    assert all(count == 1 for _, count in per_ref)
                    assert {ref for ref, _ in per_ref} == set(self.outcomes)
                    sold = (
                        await session.execute(
                            select(Vend.id, Vend.energy_wh, Vend.fbe_wh, func.count(VendToken.id))
                            .outerjoin(VendToken, VendToken.vend_id == Vend.id)
                            .where(Vend.status == "success")
                            .group_by(Vend.id, Vend.energy_wh, Vend.fbe_wh)
                        )
                    ).all()
                    for _, energy_wh, fbe_wh, tokens in sold:
                        assert tokens == (energy_wh > 0) + (fbe_wh > 0)
                    # Each account keeps the totals of its latest month's sales.
                    for account in (await session.scalars(select(Account))).all():
                        _, kept, summed = await kept_and_summed(session, account)
                        assert kept == summed

            self.run(check())

        def teardown(self) -> None:
            self.run(self.engine.dispose())
            self.loop.close()

    return VendingMachine


STATEFUL = settings(
    max_examples=6, stateful_step_count=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_vending_state_machine_sqlite(sqlite_template: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="gv-sm-"))
    try:
        db = tmp / "sm.db"

        class Fresh(machine_for(f"sqlite+aiosqlite:///{db}", tmp)):  # type: ignore[misc]
            def __init__(self) -> None:
                shutil.copyfile(sqlite_template, db)
                super().__init__()

        Fresh.TestCase.settings = STATEFUL
        Fresh.TestCase().runTest()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.postgres
def test_vending_state_machine_postgres(postgres_template: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="gv-sm-"))
    try:
        machine = machine_for(postgres_template, tmp)
        machine.TestCase.settings = STATEFUL
        machine.TestCase().runTest()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
