"""Tariffs service on SQLite and PostgreSQL: versions, publishing, version in force, outbox notices."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.types import utcnow
from backend.domain.actor import SYSTEM, Actor
from backend.domain.audit.models import AuditEvent
from backend.domain.errors import Conflict, InvalidInput
from backend.domain.notifications.models import OutboxMessage
from backend.domain.tariffs import service
from tests.support.tariffs import FLAT, LIFELINE, TOU_COMMERCIAL, add_account

ZONE = ZoneInfo("Africa/Nairobi")
ADMIN = Actor(kind="user", id=None, name="tester", roles=frozenset({"admin"}), org_path="/")


async def _tariff(session: AsyncSession, code: str = "DOM", mode: str = "prepaid") -> int:
    tariff = await service.create_tariff(
        session, ADMIN, code=code, name=f"Tariff {code}", payment_mode=mode, currency="KES"
    )
    return tariff.id


async def test_published_versions_never_change(session: AsyncSession) -> None:
    tariff_id = await _tariff(session)
    start = utcnow() + timedelta(hours=1)
    draft = await service.create_version(session, ADMIN, tariff_id, components=LIFELINE, effective_from=start)
    assert draft.version_no == 1 and draft.status == "draft"
    vid = draft.id
    edited = await service.update_version(session, ADMIN, vid, components=FLAT, notes="flat after all")
    assert json.loads(edited.components)["energy"] == {"kind": "flat", "rate": "22.00"}
    published, _ = await service.publish_version(session, ADMIN, vid, zone=ZONE)
    assert published.status == "published" and published.published_by == "tester"
    assert published.published_at is not None
    with pytest.raises(Conflict, match="Published versions cannot be changed; create a new version"):
        await service.update_version(session, ADMIN, vid, notes="sneaky")
    with pytest.raises(Conflict, match="already published"):
        await service.publish_version(session, ADMIN, vid, zone=ZONE)
    session.expire_all()
    stored = await service.get_version(session, vid)
    assert stored.notes == "flat after all"
    actions = (
        await session.execute(
            select(AuditEvent.action, AuditEvent.detail)
            .where(AuditEvent.entity_type == "tariff_version")
            .order_by(AuditEvent.seq)
        )
    ).all()
    assert [a for a, _ in actions] == [
        "tariff_version.create",
        "tariff_version.update",
        "tariff_version.publish",
    ]
    update_detail = json.loads(actions[1][1]) if isinstance(actions[1][1], str) else actions[1][1]
    assert update_detail["before"]["notes"] is None and update_detail["after"]["notes"] == "flat after all"


async def test_invalid_components_are_refused_with_the_rule_message(session: AsyncSession) -> None:
    tariff_id = await _tariff(session)
    bad = {
        "energy": {
            "kind": "block",
            "blocks": [{"up_to_kwh": "50", "rate": "1"}, {"up_to_kwh": "40", "rate": "2"}],
        }
    }
    with pytest.raises(
        InvalidInput, match="Block energy charge, block 2: thresholds must be strictly increasing"
    ):
        await service.create_version(session, ADMIN, tariff_id, components=bad, effective_from=utcnow())
    with pytest.raises(InvalidInput, match="postpaid tariffs only"):
        await service.create_version(
            session, ADMIN, tariff_id, components=TOU_COMMERCIAL, effective_from=utcnow()
        )
    versions, total = await service.list_versions(session, tariff_id)
    assert versions == [] and total == 0


async def test_effective_dates_must_move_forward(session: AsyncSession) -> None:
    tariff_id = await _tariff(session)
    now = utcnow()
    past = await service.create_version(
        session, ADMIN, tariff_id, components=FLAT, effective_from=now - timedelta(days=1)
    )
    past_id = past.id
    with pytest.raises(InvalidInput, match="in the past"):
        await service.publish_version(session, ADMIN, past_id, zone=ZONE)
    v1 = await service.create_version(
        session, ADMIN, tariff_id, components=FLAT, effective_from=now + timedelta(days=10)
    )
    await service.publish_version(session, ADMIN, v1.id, zone=ZONE)
    earlier = await service.update_version(session, ADMIN, past_id, effective_from=now + timedelta(days=5))
    with pytest.raises(InvalidInput, match="after the latest published version"):
        await service.publish_version(session, ADMIN, earlier.id, zone=ZONE)


async def test_version_in_force_at_a_time(session: AsyncSession) -> None:
    tariff_id = await _tariff(session)
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    v1 = await service.create_version(session, ADMIN, tariff_id, components=LIFELINE, effective_from=t0)
    await service.publish_version(session, ADMIN, v1.id, zone=ZONE, now=t0)
    v2 = await service.create_version(
        session, ADMIN, tariff_id, components=FLAT, effective_from=t0 + timedelta(days=31)
    )
    await service.publish_version(session, ADMIN, v2.id, zone=ZONE, now=t0 + timedelta(days=1))
    draft = await service.create_version(
        session, ADMIN, tariff_id, components=LIFELINE, effective_from=t0 + timedelta(days=40)
    )
    assert await service.version_in_force(session, tariff_id, t0 - timedelta(seconds=1)) is None
    at_start = await service.version_in_force(session, tariff_id, t0)
    assert at_start is not None and at_start.id == v1.id
    before_v2 = await service.version_in_force(
        session, tariff_id, t0 + timedelta(days=31) - timedelta(seconds=1)
    )
    assert before_v2 is not None and before_v2.id == v1.id
    later = await service.structure_in_force(session, tariff_id, t0 + timedelta(days=100))
    assert later.version.id == v2.id != draft.id  # the draft is never in force
    assert later.structure.min_purchase_minor == 1_000
    with pytest.raises(Conflict, match="no published version in force"):
        await service.structure_in_force(session, tariff_id, t0 - timedelta(days=1))
    _, preview = await service.preview(session, tariff_id, amount_minor=10_000, at=t0)
    assert preview.energy_wh == 7_000  # lifeline: 100.00 at 12.00 + 19% taxes


async def test_publish_queues_sms_for_affected_customers_only(session: AsyncSession) -> None:
    tariff_id = await _tariff(session, "DOM")
    other_id = await _tariff(session, "OTHER")
    on_tariff, _ = await add_account(session, tariff_id=tariff_id, phone="+254700000001", name="Wanjiku")
    await add_account(session, tariff_id=tariff_id, phone=None, name="No Phone")
    await add_account(session, tariff_id=tariff_id, phone="+254700000003", status="closed", name="Moved Out")
    await add_account(session, tariff_id=other_id, phone="+254700000004", name="Elsewhere")
    suspended, _ = await add_account(session, tariff_id=tariff_id, phone="+254700000005", status="suspended")
    start = datetime(2030, 3, 1, tzinfo=ZONE)
    draft = await service.create_version(session, ADMIN, tariff_id, components=LIFELINE, effective_from=start)
    expected = [("+254700000001", on_tariff.id), ("+254700000005", suspended.id)]
    draft_id = draft.id
    assert (await session.execute(select(OutboxMessage))).scalars().all() == []  # drafts notify nobody
    await session.rollback()  # end the read transaction; the service opens its own
    _, queued = await service.publish_version(
        session, ADMIN, draft_id, zone=ZONE, now=start - timedelta(days=3)
    )
    assert queued == 2
    rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    assert [(m.recipient, m.customer_id) for m in rows] == expected
    body = rows[0].body
    assert "Tariff DOM" in body and "01 Mar 2030" in body and "12.00 per kWh" in body
    assert all(
        m.status == "queued" and m.channel == "sms" and m.reference == f"tariff_version:{draft_id}"
        for m in rows
    )


async def test_failed_publish_queues_nothing(session: AsyncSession) -> None:
    tariff_id = await _tariff(session)
    await add_account(session, tariff_id=tariff_id, phone="+254700000009")
    past = await service.create_version(
        session, ADMIN, tariff_id, components=FLAT, effective_from=utcnow() - timedelta(days=2)
    )
    past_id = past.id
    with pytest.raises(InvalidInput):
        await service.publish_version(session, ADMIN, past_id, zone=ZONE)
    assert (await session.execute(select(OutboxMessage))).scalars().all() == []
    session.expire_all()
    assert (await service.get_version(session, past_id)).status == "draft"


async def test_holidays_crud_and_range(session: AsyncSession) -> None:
    hid = (await service.create_holiday(session, SYSTEM, day=date(2030, 12, 25), name="Christmas Day")).id
    await service.create_holiday(session, SYSTEM, day=date(2031, 1, 1), name="New Year's Day")
    with pytest.raises(Conflict, match="already a public holiday"):
        await service.create_holiday(session, SYSTEM, day=date(2030, 12, 25), name="Again")
    await service.update_holiday(session, SYSTEM, hid, day=date(2030, 12, 26), name="Boxing Day")
    rows, total = await service.list_holidays(session, year=2030)
    assert total == 1 and rows[0].name == "Boxing Day"
    assert await service.holidays_between(session, date(2030, 12, 1), date(2031, 1, 31)) == {
        date(2030, 12, 26),
        date(2031, 1, 1),
    }
    await session.rollback()
    await service.delete_holiday(session, SYSTEM, hid)
    assert (await service.list_holidays(session))[1] == 1
