"""Key change campaigns: move every matching meter to new key data (e.g. the base date 1993 → 2014 TID
rollover of a supply group).

A campaign schedules one pending key change (``campaign_id`` set) per matching installed STS meter in
the creator's scope, with the same rules as a single key change (:func:`keys.schedule_key_change`),
in batches of short transactions. Meters that already have a pending change are skipped (counted);
meters the rules refuse are counted and reported. Nothing more is needed afterwards: a purchase hands
out a pending key change's tokens before the credit token, so each meter moves with its next sale
(or earlier, with key change tokens on demand). Progress is read from the campaign's key changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.actor import Actor
from backend.domain.assets.models import Meter
from backend.domain.assets.service import scope_meters
from backend.domain.audit import service as audit
from backend.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from backend.domain.keys import service as keys
from backend.domain.keys.models import MeterKeyChange
from backend.domain.keys.rules import KeyChangeRequest
from backend.domain.org.models import OrgUnit
from backend.domain.vending.engineering import STS_KINDS
from backend.domain.vending.models import KeyChangeCampaign

BATCH = 100
MAX_REPORTED = 200


@dataclass(frozen=True, slots=True)
class CampaignFilter:
    sgc: int | None = None
    krn: int | None = None
    base_date: int | None = None


@dataclass(frozen=True, slots=True)
class CampaignTarget:
    sgc: int | None = None
    krn: int | None = None
    ti: int | None = None
    base_date: int | None = None
    ken: int | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    campaign: KeyChangeCampaign
    pending: int
    issued: int
    cancelled: int

    @property
    def status(self) -> str:
        """``finished`` once every scheduled change has gone out (or been cancelled one by one)."""
        if self.campaign.status == "running" and self.pending == 0:
            return "finished"
        return self.campaign.status

    @property
    def failures(self) -> list[dict[str, Any]]:
        return list(json.loads(self.campaign.report or "[]"))


def _scope_campaigns(query: Any, actor: Actor) -> Any:
    if actor.org_path == "/":
        return query
    if actor.org_path is None:
        return query.where(KeyChangeCampaign.id.is_(None))
    return query.join(OrgUnit, OrgUnit.id == KeyChangeCampaign.org_unit_id).where(
        OrgUnit.path.startswith(actor.org_path)
    )


async def _matching_meters(session: AsyncSession, actor: Actor, filt: CampaignFilter) -> list[int]:
    query = scope_meters(
        select(Meter.id).where(
            Meter.status == "installed", Meter.kind.in_(STS_KINDS), Meter.sgc.is_not(None)
        ),
        actor,
    )
    if filt.sgc is not None:
        query = query.where(Meter.sgc == filt.sgc)
    if filt.krn is not None:
        query = query.where(Meter.krn == filt.krn)
    if filt.base_date is not None:
        query = query.where(Meter.base_date == filt.base_date)
    return [int(i) for i in (await session.execute(query.order_by(Meter.id))).scalars()]


async def _common_unit(session: AsyncSession, meter_ids: list[int]) -> int | None:
    """The lowest org unit holding all the meters (for a campaign made by an actor without one)."""
    if not meter_ids:
        return None
    paths = list(
        (
            await session.execute(
                select(OrgUnit.path)
                .join(Meter, Meter.org_unit_id == OrgUnit.id)
                .where(Meter.id.in_(meter_ids))
                .distinct()
            )
        ).scalars()
    )
    if not paths:
        return None
    parts = [p.strip("/").split("/") for p in paths]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return int(common[-1]) if common else None


async def create(
    session: AsyncSession, actor: Actor, name: str, filt: CampaignFilter, target: CampaignTarget
) -> Progress:
    """Create a campaign and schedule its key changes (see the module docstring)."""
    name = name.strip()
    if not name:
        raise InvalidInput("Give the campaign a name.")
    if all(v is None for v in (target.sgc, target.krn, target.ti, target.base_date, target.ken)):
        raise InvalidInput("Give at least one new value (SGC, KRN, TI, base date or KEN).")
    if all(v is None for v in (filt.sgc, filt.krn, filt.base_date)):
        raise InvalidInput("Choose the meters: give at least one of SGC, KRN or base date to match.")
    async with session.begin():
        meter_ids = await _matching_meters(session, actor, filt)
        campaign = KeyChangeCampaign(
            name=name[:200],
            filter_sgc=filt.sgc,
            filter_krn=filt.krn,
            filter_base_date=filt.base_date,
            new_sgc=target.sgc,
            new_krn=target.krn,
            new_ti=target.ti,
            new_base_date=target.base_date,
            new_ken=target.ken,
            status="running",
            meters_total=len(meter_ids),
            org_unit_id=actor.org_unit_id or await _common_unit(session, meter_ids),
            created_by=actor.name,
        )
        session.add(campaign)
        await session.flush()
        await audit.record(
            session,
            actor,
            "key_change_campaign.create",
            entity_type="key_change_campaign",
            entity_id=campaign.id,
            detail={
                "name": campaign.name,
                "filter": {"sgc": filt.sgc, "krn": filt.krn, "base_date": filt.base_date},
                "new": {
                    "sgc": target.sgc,
                    "krn": target.krn,
                    "ti": target.ti,
                    "base_date": target.base_date,
                    "ken": target.ken,
                },
                "meters": len(meter_ids),
            },
            org_unit_id=actor.org_unit_id,
        )
        campaign_id = campaign.id
    request = KeyChangeRequest(
        sgc=target.sgc, ti=target.ti, krn=target.krn, base_date=target.base_date, ken=target.ken
    )
    skipped = 0
    failures: list[dict[str, Any]] = []
    for start in range(0, len(meter_ids), BATCH):
        batch_skipped = 0
        batch_failures: list[dict[str, Any]] = []
        for meter_id in meter_ids[start : start + BATCH]:
            try:
                await keys.schedule_key_change(
                    session,
                    actor,
                    meter_id,
                    request,
                    reason=f"Campaign: {name}"[:200],
                    campaign_id=campaign_id,
                )
            except Conflict:
                batch_skipped += 1
            except DomainError as exc:
                batch_failures.append(
                    {
                        "meter_id": meter_id,
                        "meter_no": await _number(session, meter_id),
                        "problem": exc.detail,
                    }
                )
        skipped += batch_skipped
        failures.extend(batch_failures)
        async with session.begin():
            row = (
                await session.execute(
                    select(KeyChangeCampaign).where(KeyChangeCampaign.id == campaign_id).with_for_update()
                )
            ).scalar_one()
            row.meters_skipped = skipped
            row.meters_failed = len(failures)
            row.report = json.dumps(failures[:MAX_REPORTED])
    return await get(session, actor, campaign_id)


async def _number(session: AsyncSession, meter_id: int) -> str:
    async with session.begin():
        return await keys.meter_number(session, meter_id)


async def _counts(session: AsyncSession, ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return out
    rows = await session.execute(
        select(MeterKeyChange.campaign_id, MeterKeyChange.status, func.count())
        .where(MeterKeyChange.campaign_id.in_(ids))
        .group_by(MeterKeyChange.campaign_id, MeterKeyChange.status)
    )
    for campaign_id, status, count in rows.all():
        assert campaign_id is not None
        out[campaign_id][str(status)] = int(count)
    return out


def _progress(row: KeyChangeCampaign, counts: dict[str, int]) -> Progress:
    return Progress(row, counts.get("pending", 0), counts.get("issued", 0), counts.get("cancelled", 0))


async def get(session: AsyncSession, actor: Actor, campaign_id: int) -> Progress:
    async with session.begin():
        row = (
            await session.execute(
                _scope_campaigns(select(KeyChangeCampaign).where(KeyChangeCampaign.id == campaign_id), actor)
            )
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"Key change campaign {campaign_id} does not exist.")
        return _progress(row, (await _counts(session, [row.id]))[row.id])


async def list_campaigns(
    session: AsyncSession, actor: Actor, *, limit: int = 50, offset: int = 0
) -> tuple[list[Progress], int]:
    async with session.begin():
        query = _scope_campaigns(select(KeyChangeCampaign), actor)
        total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = list(
            (await session.execute(query.order_by(KeyChangeCampaign.id.desc()).limit(limit).offset(offset)))
            .scalars()
            .all()
        )
        counts = await _counts(session, [r.id for r in rows])
        return [_progress(r, counts[r.id]) for r in rows], int(total)


async def cancel(session: AsyncSession, actor: Actor, campaign_id: int) -> Progress:
    """Stop a campaign: its key changes still pending are cancelled (issued ones stay issued)."""
    async with session.begin():
        row = (
            await session.execute(
                _scope_campaigns(
                    select(KeyChangeCampaign).where(KeyChangeCampaign.id == campaign_id), actor
                ).with_for_update(of=KeyChangeCampaign)
            )
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"Key change campaign {campaign_id} does not exist.")
        if row.status != "running":
            raise Conflict(
                f"Campaign {campaign_id} is {row.status}; only a running campaign can be cancelled."
            )
        changes = list(
            (
                await session.execute(
                    select(MeterKeyChange, Meter)
                    .join(Meter, Meter.id == MeterKeyChange.meter_id)
                    .where(MeterKeyChange.campaign_id == campaign_id, MeterKeyChange.status == "pending")
                    .with_for_update(of=MeterKeyChange)
                )
            ).all()
        )
        for change, meter in changes:
            change.status = "cancelled"
            await audit.record(
                session,
                actor,
                "key_change.cancel",
                entity_type="meter_key_change",
                entity_id=change.id,
                detail={
                    "meter_id": meter.id,
                    "meter_no": meter.meter_no,
                    "campaign_id": campaign_id,
                    "before": {"status": "pending"},
                    "after": {"status": "cancelled"},
                },
                org_unit_id=meter.org_unit_id,
            )
        row.status = "cancelled"
        await audit.record(
            session,
            actor,
            "key_change_campaign.cancel",
            entity_type="key_change_campaign",
            entity_id=row.id,
            detail={
                "name": row.name,
                "cancelled_changes": len(changes),
                "before": {"status": "running"},
                "after": {"status": "cancelled"},
            },
            org_unit_id=row.org_unit_id,
        )
    return await get(session, actor, campaign_id)
