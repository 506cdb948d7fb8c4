"""Customer and account services on SQLite and PostgreSQL: numbering, scope, lifecycle, one open account
per supply point (also when two clerks try at once), change of tenancy, search, audit."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update

from backend.domain.assets.models import Meter
from backend.domain.audit.models import AuditEvent
from backend.domain.customers import service
from backend.domain.customers.models import Account, Customer, SearchTerm
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.settings import Settings
from tests.support.customers import actor_at, add_tariff, sessions, supply_point, unit_id
from tests.support.demo_cache import seed_demo

CC = "254"


async def test_customer_numbers_phones_and_audit(settings: Settings) -> None:
    await seed_demo(settings)
    async with sessions(settings) as maker, maker() as session:
        clerk = await actor_at(session, "DPL-CEN", "billing_clerk")
        first = await service.create_customer(
            session,
            clerk,
            country_code=CC,
            name="  Mary   Achieng ",
            phone="0712 345 678",
            email="mary@example.co.ke",
        )
        second = await service.create_customer(
            session,
            clerk,
            country_code=CC,
            name="Otieno Ltd",
            kind="company",
            phone="+254 733-000111",
            category="commercial",
        )
        assert (first.customer_no, second.customer_no) == ("C00000001", "C00000002")
        assert (
            first.name == "Mary Achieng"
            and first.phone == "+254712345678"
            and second.phone == "+254733000111"
        )
        with pytest.raises(InvalidInput, match="phone number has 8 to 15"):
            await service.create_customer(
                session, clerk, country_code=CC, name="X", phone="+1234567890123456"
            )
        with pytest.raises(InvalidInput, match="not an e-mail address"):
            await service.create_customer(session, clerk, country_code=CC, name="X", email="mary@")
        updated = await service.update_customer(
            session, clerk, first.id, country_code=CC, phone="0722000000", email=None
        )
        assert updated.phone == "+254722000000" and updated.email is None
        events = (
            (
                await session.execute(
                    select(AuditEvent).where(AuditEvent.entity_type == "customer").order_by(AuditEvent.seq)
                )
            )
            .scalars()
            .all()
        )
        assert [e.action for e in events] == ["customer.create", "customer.create", "customer.update"]
        assert '"before":{"email":"mary@example.co.ke","phone":"+254712345678"}' in events[2].detail


async def test_numbers_taken_over_from_an_older_system_do_not_break_the_series(settings: Settings) -> None:
    await seed_demo(settings)
    async with sessions(settings) as maker, maker() as session:
        clerk = await actor_at(session, "DPL-CEN", "billing_clerk")
        org = await unit_id(session, "DPL-CEN")
        async with session.begin():
            for legacy in ("CW000001", "CZZZZZZZZ", "C0000000X", "C00000041"):
                session.add(Customer(customer_no=legacy, name=f"Legacy {legacy}", org_unit_id=org))
        created = await service.create_customer(session, clerk, country_code=CC, name="New After Legacy")
        assert created.customer_no == "C00000042"


async def test_customer_numbers_are_unique_under_concurrency(settings: Settings) -> None:
    await seed_demo(settings)
    async with sessions(settings) as maker:
        async with maker() as session:
            clerk = await actor_at(session, "DPL-CEN", "billing_clerk")

        async def one(n: int) -> str:
            async with maker() as session:
                c = await service.create_customer(session, clerk, country_code=CC, name=f"Parallel {n}")
                return c.customer_no

        numbers = await asyncio.gather(*(one(n) for n in range(6)))
    assert sorted(numbers) == [f"C{n:08d}" for n in range(1, 7)]


async def _setup(session, settings):  # type: ignore[no-untyped-def]
    clerk = await actor_at(session, "DPL-CEN", "billing_clerk")
    point = await supply_point(session, "SP-00001")
    tariff = await add_tariff(session, "DOM1", "prepaid")
    postpaid = await add_tariff(session, "COM1", "postpaid")
    mary = await service.create_customer(
        session, clerk, country_code=CC, name="Mary Achieng", phone="0712345678"
    )
    john = await service.create_customer(
        session, clerk, country_code=CC, name="John Kamau", phone="0733111222"
    )
    return clerk, tariff, postpaid, mary.id, john.id, point


async def test_account_lifecycle_and_one_open_account_per_supply_point(settings: Settings) -> None:
    await seed_demo(settings)
    async with sessions(settings) as maker, maker() as session:
        clerk, tariff, postpaid, mary, john, point = await _setup(session, settings)
        with pytest.raises(InvalidInput, match="for postpaid accounts only"):
            await service.open_account(
                session,
                clerk,
                customer_id=mary,
                supply_point_id=point.id,
                tariff_id=postpaid,
                payment_mode="prepaid",
            )
        with pytest.raises(InvalidInput, match="Tariff 999 does not exist"):
            await service.open_account(
                session,
                clerk,
                customer_id=mary,
                supply_point_id=point.id,
                tariff_id=999,
                payment_mode="prepaid",
            )
        account = await service.open_account(
            session,
            clerk,
            customer_id=mary,
            supply_point_id=point.id,
            tariff_id=tariff,
            payment_mode="prepaid",
        )
        account_id = account.id
        assert account.account_no == "A00000001" and account.status == "applied" and account.currency == "KES"
        with pytest.raises(Conflict, match="already has an open account \\(A00000001\\)"):
            await service.open_account(
                session,
                clerk,
                customer_id=john,
                supply_point_id=point.id,
                tariff_id=tariff,
                payment_mode="prepaid",
            )
        with pytest.raises(Conflict, match="can only become active or closed, not suspended"):
            await service.set_account_status(session, clerk, account_id, status="suspended")
        assert (await service.set_account_status(session, clerk, account_id, status="active")).opened_at
        await service.set_account_status(session, clerk, account_id, status="suspended", reason="tamper")
        await service.set_account_status(session, clerk, account_id, status="active")
        async with session.begin():
            await session.execute(update(Account).where(Account.id == account_id).values(credit_minor=500))
        with pytest.raises(InvalidInput, match="still holds credit"):
            await service.set_account_status(session, clerk, account_id, status="closed")
        closed = await service.set_account_status(
            session, clerk, account_id, status="closed", reason="moved away", note="refund by M-Pesa"
        )
        assert (
            closed.status == "closed" and closed.credit_minor == 500 and closed.close_reason == "moved away"
        )
        with pytest.raises(Conflict, match="closed account cannot change status"):
            await service.set_account_status(session, clerk, account_id, status="active")
        # the supply point is free again
        again = await service.open_account(
            session,
            clerk,
            customer_id=john,
            supply_point_id=point.id,
            tariff_id=tariff,
            payment_mode="prepaid",
        )
        assert again.account_no == "A00000002"
        actions = (
            (
                await session.execute(
                    select(AuditEvent.action)
                    .where(AuditEvent.entity_id == str(account_id), AuditEvent.entity_type == "account")
                    .order_by(AuditEvent.seq)
                )
            )
            .scalars()
            .all()
        )
        assert actions == [
            "account.open",
            "account.activate",
            "account.suspended",
            "account.activate",
            "account.close",
        ]


async def test_two_clerks_opening_at_one_supply_point_at_once(settings: Settings) -> None:
    await seed_demo(settings)
    async with sessions(settings) as maker:
        async with maker() as session:
            clerk, tariff, _, mary, john, point = await _setup(session, settings)

        async def attempt(customer_id: int) -> str:
            async with maker() as session:
                try:
                    a = await service.open_account(
                        session,
                        clerk,
                        customer_id=customer_id,
                        supply_point_id=point.id,
                        tariff_id=tariff,
                        payment_mode="prepaid",
                    )
                    return a.account_no
                except Conflict as exc:
                    return exc.detail

        results = await asyncio.gather(attempt(mary), attempt(john), attempt(mary))
        async with maker() as session:
            open_count = len(
                (await session.execute(select(Account).where(Account.supply_point_id == point.id)))
                .scalars()
                .all()
            )
    assert open_count == 1
    assert sum(r.startswith("A0") for r in results) == 1
    assert sum("already has an open account" in r for r in results) == 2


async def test_change_of_tenancy_keeps_the_debt_on_the_old_account(settings: Settings) -> None:
    await seed_demo(settings)
    async with sessions(settings) as maker, maker() as session:
        clerk, tariff, _, mary, john, point = await _setup(session, settings)
        old = await service.open_account(
            session,
            clerk,
            customer_id=mary,
            supply_point_id=point.id,
            tariff_id=tariff,
            payment_mode="prepaid",
        )
        old_id = old.id
        await service.set_account_status(session, clerk, old_id, status="active")
        async with session.begin():
            await session.execute(update(Account).where(Account.id == old_id).values(debt_minor=12_345))
        with pytest.raises(InvalidInput, match="different customer"):
            await service.change_tenancy(session, clerk, old_id, new_customer_id=mary)
        closed, opened = await service.change_tenancy(session, clerk, old_id, new_customer_id=john)
        assert (
            closed.status == "closed"
            and closed.close_reason == "change of tenancy"
            and closed.debt_minor == 12_345
        )
        assert opened.status == "active" and opened.customer_id == john and opened.debt_minor == 0
        assert opened.previous_account_id == old_id and opened.supply_point_id == point.id
        detail = (
            await session.execute(
                select(AuditEvent.detail).where(AuditEvent.action == "account.change_of_tenancy")
            )
        ).scalar_one()
        assert '"debt_left_on_previous_minor":12345' in detail
        await session.rollback()
        with pytest.raises(Conflict, match="already closed"):
            await service.change_tenancy(session, clerk, old_id, new_customer_id=john)


async def test_scope_of_customers_and_accounts(settings: Settings) -> None:
    await seed_demo(settings)
    async with sessions(settings) as maker, maker() as session:
        st1 = await actor_at(session, "DPL-CEN-01", "billing_clerk")
        st2 = await actor_at(session, "DPL-CEN-02", "billing_clerk")
        tariff = await add_tariff(session, "DOM1")
        mine = await service.create_customer(session, st1, country_code=CC, name="Station One Customer")
        mine_id, mine_unit = mine.id, mine.org_unit_id
        assert mine_unit == await unit_id(session, "DPL-CEN-01")
        with pytest.raises(NotFound):
            await service.get_customer(session, st2, mine_id)
        await session.rollback()
        assert [h.customer.id for h in await service.search(session, st2, "Station", country_code=CC)] == []
        assert [h.customer.id for h in await service.search(session, st1, "Station", country_code=CC)] == [
            mine_id
        ]
        await session.rollback()
        # a supply point of station 02 is out of reach for station 01's clerk
        station2 = await unit_id(session, "DPL-CEN-02")
        points = [await supply_point(session, f"SP-{n:05d}") for n in range(1, 8)]
        foreign = next(p for p in points if p.org_unit_id == station2)
        with pytest.raises(NotFound, match="Supply point"):
            await service.open_account(
                session,
                st1,
                customer_id=mine_id,
                supply_point_id=foreign.id,
                tariff_id=tariff,
                payment_mode="prepaid",
            )


async def test_search_by_every_kind_of_number(settings: Settings) -> None:
    await seed_demo(settings)
    async with sessions(settings) as maker, maker() as session:
        clerk, tariff, _, mary, john, point = await _setup(session, settings)
        await service.update_customer(
            session, clerk, mary, country_code=CC, id_number="29 876 543", name="Mary Njérí Achieng"
        )
        account = await service.open_account(
            session,
            clerk,
            customer_id=mary,
            supply_point_id=point.id,
            tariff_id=tariff,
            payment_mode="prepaid",
        )
        account_no = account.account_no
        async with session.begin():
            session.add(
                Meter(
                    meter_no="04123456789",
                    kind="sts_keypad",
                    manufacturer="Conlog",
                    model="BEC23",
                    status="installed",
                    org_unit_id=point.org_unit_id,
                    supply_point_id=point.id,
                )
            )
            await session.flush()
            await service.index_meter_for_supply_point(session, point.id)

        async def found(q: str) -> list[int]:
            hits = await service.search(session, clerk, q, country_code=CC)
            ids = [h.customer.id for h in hits]
            await session.rollback()
            return ids

        for q in ("mary", "ACH", "njeri", "achieng mary", "Njérí"):
            assert await found(q) == [mary], q
        for q in ("+254 712 345 678", "0712345678", "0712 345", "712345678", "254712", "+2547123"):
            assert await found(q) == [mary], q
        assert set(await found("07")) == {mary, john}
        assert await found(account_no) == [mary]
        assert await found(account_no.lower()) == [mary]
        assert await found("0412345") == [mary]
        assert await found("C00000002") == [john]
        assert await found("29876") == [mary]
        assert await found("zzz") == []
        hits = await service.search(session, clerk, "04123456789", country_code=CC)
        assert hits[0].matched == "meter" and hits[0].accounts[0].supply_point.code == "SP-00001"
        assert hits[0].accounts[0].account.account_no == account_no
        await session.rollback()
        # removing the meter takes its number out of the index
        async with session.begin():
            await session.execute(update(Meter).values(status="removed"))
            await service.index_meter_for_supply_point(session, point.id)
        assert await found("04123456789") == []
        kinds = set(
            (await session.execute(select(SearchTerm.kind).where(SearchTerm.customer_id == mary))).scalars()
        )
        assert kinds == {"name", "phone", "account", "customer_no", "id_number"}
