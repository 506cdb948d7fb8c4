"""Keys endpoints: vending keys (metadata only) and meter key changes.

By design there is no endpoint that imports or returns vending key material: keys enter through the
`gridvend keys import` command on the server, and leave the key store only inside the token engine.
"""

from __future__ import annotations

from typing import Annotated, Literal, cast

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, Parameter

from backend.domain.auth.rules import Role
from backend.domain.keys import service
from backend.domain.keys.models import MeterKeyChange, VendingKey
from backend.domain.keys.rules import KeyChangeRequest
from backend.domain.keys.schemas import (
    ChangeStatus,
    Dkga,
    KeyChangeIn,
    KeyChangeList,
    KeyChangeOut,
    KeyData,
    KeyStatus,
    VendingKeyList,
    VendingKeyOut,
)
from backend.http.deps import CurrentActor, Db, Limit, Offset
from backend.http.problems import problem_responses
from backend.http.security import allow

KEY_READERS = (Role.ADMIN, Role.ENGINEER, Role.AUDITOR)
KEY_CHANGERS = (Role.ADMIN, Role.ENGINEER)
NO_MATERIAL = (
    " Key material is never returned by any endpoint: vending keys are imported on the server with "
    "`gridvend keys import` (standard input) and used only inside the token engine."
)


def _key_out(row: VendingKey) -> VendingKeyOut:
    return VendingKeyOut(
        id=row.id,
        sgc=row.sgc,
        krn=row.krn,
        kt=row.kt,
        dkga=cast(Dkga, row.dkga),
        base_date=row.base_date,
        label=row.label,
        expires_at=row.expires_at,
        status=cast(KeyStatus, row.status),
        master_key_id=row.master_key_id,
        created_at=row.created_at,
    )


def _change_out(change: MeterKeyChange, meter_no: str) -> KeyChangeOut:
    return KeyChangeOut(
        id=change.id,
        meter_id=change.meter_id,
        meter_no=meter_no,
        status=cast(ChangeStatus, change.status),
        reason=change.reason,
        old=KeyData(
            sgc=change.old_sgc,
            ti=change.old_ti,
            krn=change.old_krn,
            kt=change.old_kt,
            base_date=change.old_base_date,
            ken=change.old_ken,
        ),
        new=KeyData(
            sgc=change.new_sgc,
            ti=change.new_ti,
            krn=change.new_krn,
            kt=change.new_kt,
            base_date=change.new_base_date,
            ken=change.new_ken,
        ),
        rollover=change.rollover,
        created_at=change.created_at,
        created_by=change.created_by,
        issued_at=change.issued_at,
    )


class VendingKeyController(Controller):
    path = "/api/v1/vending-keys"
    tags = ["keys"]

    @get(
        "/",
        opt=allow(*KEY_READERS),
        operation_id="listVendingKeys",
        summary="Vending keys loaded (identity, status, expiry; never the key material)",
        description="SGC, KRN, KT, DKGA, base date, expiry, status, label and the fingerprint of the "
        "master key each is wrapped with." + NO_MATERIAL,
    )
    async def list_keys(
        self,
        db: Db,
        status: Annotated[Literal["active", "retired"] | None, Parameter()] = None,
        sgc: Annotated[int | None, Parameter(ge=0, le=999999)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> VendingKeyList:
        rows, total = await service.list_vending_keys(db, status=status, sgc=sgc, limit=limit, offset=offset)
        return VendingKeyList(items=[_key_out(r) for r in rows], total=total)

    @post(
        "/{key_id:int}/retire",
        opt=allow(Role.ADMIN),
        operation_id="retireVendingKey",
        status_code=200,
        responses=problem_responses(404, 409),
        summary="Retire a vending key (no more credit tokens under it)",
        description="Meters still on the key need a key change; key change tokens away from a retired "
        "key still work." + NO_MATERIAL,
    )
    async def retire(self, db: Db, actor: CurrentActor, key_id: FromPath[int]) -> VendingKeyOut:
        return _key_out(await service.retire_vending_key(db, actor, key_id))


class KeyChangeController(Controller):
    path = "/api/v1"
    tags = ["keys"]

    @post(
        "/meters/{meter_id:int}/key-changes",
        opt=allow(*KEY_CHANGERS),
        operation_id="scheduleKeyChange",
        status_code=201,
        responses=problem_responses(404, 409, 422),
        summary="Schedule a key change for a meter",
        description="Records a pending change of the meter's SGC, TI, KRN, KT, base date or KEN (values "
        "not given stay). The key change tokens go out before the meter's next credit token. The RO bit "
        "is set when the base date moves (1993 → 2014 → 2035). 409 when a change is already pending.",
    )
    async def schedule(
        self, db: Db, actor: CurrentActor, meter_id: FromPath[int], data: JSONBody[KeyChangeIn]
    ) -> KeyChangeOut:
        change = await service.schedule_key_change(
            db,
            actor,
            meter_id,
            KeyChangeRequest(
                sgc=data.sgc,
                ti=data.ti,
                krn=data.krn,
                kt=data.kt,
                base_date=data.base_date,
                ken=data.ken,
                rollover=data.rollover,
            ),
            reason=data.reason,
        )
        return _change_out(change, await service.meter_number(db, change.meter_id))

    @get(
        "/meters/{meter_id:int}/key-changes",
        opt=allow(*KEY_READERS),
        operation_id="listMeterKeyChanges",
        responses=problem_responses(404),
        summary="A meter's key change history (newest first)",
    )
    async def meter_history(
        self,
        db: Db,
        actor: CurrentActor,
        meter_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> KeyChangeList:
        rows, total = await service.list_key_changes(db, actor, meter_id=meter_id, limit=limit, offset=offset)
        return KeyChangeList(items=[_change_out(c, no) for c, no in rows], total=total)

    @get(
        "/key-changes",
        opt=allow(*KEY_READERS),
        operation_id="listKeyChanges",
        summary="Key changes of meters in your org unit and below (filter by status, SGC, KRN, base date)",
    )
    async def list_changes(
        self,
        db: Db,
        actor: CurrentActor,
        status: Annotated[Literal["pending", "issued", "cancelled"] | None, Parameter()] = None,
        sgc: Annotated[int | None, Parameter(ge=0, le=999999)] = None,
        krn: Annotated[int | None, Parameter(ge=1, le=9)] = None,
        base_date: Annotated[Literal[1993, 2014, 2035] | None, Parameter()] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> KeyChangeList:
        rows, total = await service.list_key_changes(
            db, actor, status=status, sgc=sgc, krn=krn, base_date=base_date, limit=limit, offset=offset
        )
        return KeyChangeList(items=[_change_out(c, no) for c, no in rows], total=total)

    @post(
        "/key-changes/{change_id:int}/cancel",
        opt=allow(*KEY_CHANGERS),
        operation_id="cancelKeyChange",
        status_code=200,
        responses=problem_responses(404, 409),
        summary="Cancel a pending key change",
    )
    async def cancel(self, db: Db, actor: CurrentActor, change_id: FromPath[int]) -> KeyChangeOut:
        change = await service.cancel_key_change(db, actor, change_id)
        return _change_out(change, await service.meter_number(db, change.meter_id))
