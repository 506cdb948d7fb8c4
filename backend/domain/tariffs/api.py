"""Tariff endpoints: tariffs, versions (draft → publish), previews and public holidays."""

from __future__ import annotations

from typing import Annotated, cast

from litestar import Controller, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, Parameter

from backend.db.types import utcnow
from backend.domain.auth.rules import Role
from backend.domain.tariffs import rules, service
from backend.domain.tariffs.models import PublicHoliday, Tariff, TariffVersion
from backend.domain.tariffs.schemas import (
    HolidayIn,
    HolidayList,
    HolidayOut,
    HolidayUpdate,
    PaymentMode,
    PreviewIn,
    PreviewOut,
    PublishOut,
    TariffCreate,
    TariffList,
    TariffOut,
    TariffUpdate,
    VersionCreate,
    VersionList,
    VersionOut,
    VersionRef,
    VersionStatus,
    VersionUpdate,
)
from backend.http.deps import CurrentActor, Db, Limit, Offset
from backend.http.problems import problem_responses
from backend.http.security import allow

READ = allow(Role.ADMIN, Role.SUPERVISOR, Role.BILLING_CLERK, Role.AUDITOR, Role.CASHIER)
DRAFT = allow(Role.ADMIN, Role.BILLING_CLERK)
ADMIN = allow(Role.ADMIN)


async def _tariff_out(db: Db, tariff: Tariff) -> TariffOut:
    current = await service.version_in_force(db, tariff.id, utcnow())
    return TariffOut(
        id=tariff.id,
        code=tariff.code,
        name=tariff.name,
        description=tariff.description,
        payment_mode=cast(PaymentMode, tariff.payment_mode),
        currency=tariff.currency,
        created_at=tariff.created_at,
        in_force=None
        if current is None
        else VersionRef(id=current.id, version_no=current.version_no, effective_from=current.effective_from),
    )


def _version_out(version: TariffVersion) -> VersionOut:
    return VersionOut(
        id=version.id,
        tariff_id=version.tariff_id,
        version_no=version.version_no,
        status=cast(VersionStatus, version.status),
        effective_from=version.effective_from,
        components=rules.parse_structure(version.components),
        notes=version.notes,
        created_at=version.created_at,
        created_by=version.created_by,
        published_at=version.published_at,
        published_by=version.published_by,
    )


def _holiday_out(holiday: PublicHoliday) -> HolidayOut:
    return HolidayOut(id=holiday.id, day=holiday.day, name=holiday.name)


class TariffController(Controller):
    path = "/api/v1/tariffs"
    tags = ["tariffs"]

    @get("/", opt=READ, operation_id="listTariffs", summary="Tariffs, with the version in force now")
    async def list_tariffs(
        self,
        db: Db,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        payment_mode: Annotated[PaymentMode | None, Parameter()] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> TariffList:
        rows, total = await service.list_tariffs(
            db, q=q, payment_mode=payment_mode, limit=limit, offset=offset
        )
        return TariffList(items=[await _tariff_out(db, t) for t in rows], total=total)

    @post(
        "/",
        opt=ADMIN,
        operation_id="createTariff",
        summary="Create a tariff (its prices come in versions)",
        responses=problem_responses(409, 422),
    )
    async def create_tariff(
        self, db: Db, state: State, actor: CurrentActor, data: JSONBody[TariffCreate]
    ) -> TariffOut:
        tariff = await service.create_tariff(
            db,
            actor,
            code=data.code,
            name=data.name,
            payment_mode=data.payment_mode,
            currency=data.currency or state.settings.currency,
            description=data.description,
        )
        return await _tariff_out(db, tariff)

    @get("/{tariff_id:int}", opt=READ, operation_id="getTariff", summary="One tariff")
    async def get_tariff(self, db: Db, tariff_id: FromPath[int]) -> TariffOut:
        return await _tariff_out(db, await service.get_tariff(db, tariff_id))

    @patch(
        "/{tariff_id:int}",
        opt=ADMIN,
        operation_id="updateTariff",
        summary="Rename a tariff or change its payment mode",
        responses=problem_responses(404, 422),
    )
    async def update_tariff(
        self, db: Db, actor: CurrentActor, tariff_id: FromPath[int], data: JSONBody[TariffUpdate]
    ) -> TariffOut:
        tariff = await service.update_tariff(
            db, actor, tariff_id, name=data.name, description=data.description, payment_mode=data.payment_mode
        )
        return await _tariff_out(db, tariff)

    @get(
        "/{tariff_id:int}/versions",
        opt=READ,
        operation_id="listTariffVersions",
        summary="A tariff's versions, newest first",
    )
    async def list_versions(
        self,
        db: Db,
        tariff_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> VersionList:
        rows, total = await service.list_versions(db, tariff_id, limit=limit, offset=offset)
        return VersionList(items=[_version_out(v) for v in rows], total=total)

    @post(
        "/{tariff_id:int}/versions",
        opt=DRAFT,
        operation_id="createTariffVersion",
        summary="Create a draft version (components are validated: 422 names the faulty component)",
        responses=problem_responses(404, 422),
    )
    async def create_version(
        self, db: Db, actor: CurrentActor, tariff_id: FromPath[int], data: JSONBody[VersionCreate]
    ) -> VersionOut:
        version = await service.create_version(
            db,
            actor,
            tariff_id,
            components=data.components,
            effective_from=data.effective_from,
            notes=data.notes,
        )
        return _version_out(version)

    @post(
        "/{tariff_id:int}/preview",
        opt=READ,
        operation_id="previewTariff",
        status_code=200,
        summary="What an amount buys at this tariff this month",
        description="Prices a purchase (no debt) at the version in force at `at` (default now), or at "
        "`version_id` (e.g. a draft). 409 when no version is in force; 422 outside the purchase limits.",
        responses=problem_responses(404, 409, 422),
    )
    async def preview(self, db: Db, tariff_id: FromPath[int], data: JSONBody[PreviewIn]) -> PreviewOut:
        tariff = await service.get_tariff(db, tariff_id)
        version, result = await service.preview(
            db,
            tariff_id,
            amount_minor=data.amount_minor,
            month_to_date_wh=data.month_to_date_wh,
            at=data.at,
            version_id=data.version_id,
            include_fixed=data.include_fixed,
        )
        return PreviewOut(
            tariff_id=tariff_id,
            version_id=version.id,
            version_no=version.version_no,
            version_status=cast(VersionStatus, version.status),
            currency=tariff.currency,
            amount_minor=result.amount_minor,
            energy_wh=result.energy_wh,
            kwh=result.kwh,
            text=result.text,
            breakdown=result.breakdown,
        )


class TariffVersionController(Controller):
    path = "/api/v1/tariff-versions"
    tags = ["tariffs"]

    @get("/{version_id:int}", opt=READ, operation_id="getTariffVersion", summary="One tariff version")
    async def get_version(self, db: Db, version_id: FromPath[int]) -> VersionOut:
        return _version_out(await service.get_version(db, version_id))

    @patch(
        "/{version_id:int}",
        opt=DRAFT,
        operation_id="updateTariffVersion",
        summary="Edit a draft version (409 once published)",
        responses=problem_responses(404, 409, 422),
    )
    async def update_version(
        self, db: Db, actor: CurrentActor, version_id: FromPath[int], data: JSONBody[VersionUpdate]
    ) -> VersionOut:
        version = await service.update_version(
            db,
            actor,
            version_id,
            components=data.components,
            effective_from=data.effective_from,
            notes=data.notes,
        )
        return _version_out(version)

    @post(
        "/{version_id:int}/publish",
        opt=ADMIN,
        operation_id="publishTariffVersion",
        status_code=200,
        summary="Publish a draft: it never changes again; customers on the tariff get an SMS notice",
        responses=problem_responses(404, 409, 422),
    )
    async def publish(
        self, db: Db, state: State, actor: CurrentActor, version_id: FromPath[int]
    ) -> PublishOut:
        version, queued = await service.publish_version(db, actor, version_id, zone=state.settings.zone)
        return PublishOut(version=_version_out(version), notices_queued=queued)


class PublicHolidayController(Controller):
    path = "/api/v1/public-holidays"
    tags = ["tariffs"]

    @get("/", opt=READ, operation_id="listPublicHolidays", summary="Public holidays (time-of-use day types)")
    async def list_holidays(
        self,
        db: Db,
        year: Annotated[int | None, Parameter(ge=1900, le=2200)] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> HolidayList:
        rows, total = await service.list_holidays(db, year=year, limit=limit, offset=offset)
        return HolidayList(items=[_holiday_out(h) for h in rows], total=total)

    @post(
        "/",
        opt=ADMIN,
        operation_id="createPublicHoliday",
        summary="Add a public holiday",
        responses=problem_responses(409, 422),
    )
    async def create_holiday(self, db: Db, actor: CurrentActor, data: JSONBody[HolidayIn]) -> HolidayOut:
        return _holiday_out(await service.create_holiday(db, actor, day=data.day, name=data.name))

    @patch(
        "/{holiday_id:int}",
        opt=ADMIN,
        operation_id="updatePublicHoliday",
        summary="Change a public holiday",
        responses=problem_responses(404, 409, 422),
    )
    async def update_holiday(
        self, db: Db, actor: CurrentActor, holiday_id: FromPath[int], data: JSONBody[HolidayUpdate]
    ) -> HolidayOut:
        holiday = await service.update_holiday(db, actor, holiday_id, day=data.day, name=data.name)
        return _holiday_out(holiday)

    @delete(
        "/{holiday_id:int}",
        opt=ADMIN,
        operation_id="deletePublicHoliday",
        summary="Remove a public holiday",
        responses=problem_responses(404),
    )
    async def delete_holiday(self, db: Db, actor: CurrentActor, holiday_id: FromPath[int]) -> None:
        await service.delete_holiday(db, actor, holiday_id)
