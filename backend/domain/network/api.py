"""Network endpoints: substations, feeders, transformers and supply points."""

from __future__ import annotations

from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

from backend.domain.auth.rules import Role
from backend.domain.network import service
from backend.domain.network.models import NetworkNode, SupplyPoint
from backend.domain.network.schemas import (
    DeactivateIn,
    NetworkTree,
    NodeCreate,
    NodeKind,
    NodeList,
    NodeOut,
    NodeUpdate,
    SupplyPointCreate,
    SupplyPointList,
    SupplyPointOut,
    SupplyPointUpdate,
    TreeNodeOut,
)
from backend.http.deps import CurrentActor, Db, Limit, Offset
from backend.http.problems import problem_responses
from backend.http.security import allow

READ_ROLES = (
    Role.ADMIN,
    Role.SUPERVISOR,
    Role.ENGINEER,
    Role.AUDITOR,
    Role.BILLING_CLERK,
    Role.CASHIER,
)
WRITE_ROLES = (Role.ADMIN, Role.ENGINEER, Role.SUPERVISOR)


def node_out(node: NetworkNode) -> NodeOut:
    return NodeOut(
        id=node.id,
        kind=cast(NodeKind, node.kind),
        code=node.code,
        name=node.name,
        parent_id=node.parent_id,
        path=node.path,
        org_unit_id=node.org_unit_id,
        voltage_kv=node.voltage_kv,
        rating_kva=node.rating_kva,
        active=node.active,
    )


def supply_point_out(point: SupplyPoint) -> SupplyPointOut:
    return SupplyPointOut(
        id=point.id,
        code=point.code,
        transformer_id=point.transformer_id,
        org_unit_id=point.org_unit_id,
        address=point.address,
        town=point.town,
        latitude=point.latitude,
        longitude=point.longitude,
        phases=point.phases,
        active=point.active,
    )


def _tree_out(item: service.TreeNode) -> TreeNodeOut:
    node = item.node
    return TreeNodeOut(
        id=node.id,
        kind=cast(NodeKind, node.kind),
        code=node.code,
        name=node.name,
        org_unit_id=node.org_unit_id,
        active=node.active,
        voltage_kv=node.voltage_kv,
        rating_kva=node.rating_kva,
        supply_points=item.supply_points,
        children=[_tree_out(child) for child in item.children],
    )


def _given(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a partial update actually sent."""
    return {
        name: getattr(data, name)
        for name in data.__struct_fields__
        if getattr(data, name) is not msgspec.UNSET
    }


class NetworkController(Controller):
    path = "/api/v1/network"
    tags = ["network"]

    @get(
        "/nodes",
        opt=allow(*READ_ROLES),
        operation_id="listNetworkNodes",
        summary="Substations, feeders and transformers in your scope",
    )
    async def list_nodes(
        self,
        db: Db,
        actor: CurrentActor,
        kind: Annotated[NodeKind | None, Parameter()] = None,
        parent_id: Annotated[int | None, Parameter(ge=1)] = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        active: Annotated[bool | None, Parameter()] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> NodeList:
        rows, total = await service.list_nodes(
            db, actor, kind=kind, parent_id=parent_id, q=q, active=active, limit=limit, offset=offset
        )
        return NodeList(items=[node_out(n) for n in rows], total=total)

    @post(
        "/nodes",
        opt=allow(*WRITE_ROLES),
        operation_id="createNetworkNode",
        summary="Add a substation, feeder or transformer",
        responses=problem_responses(404, 409, 422),
    )
    async def create_node(self, db: Db, actor: CurrentActor, data: JSONBody[NodeCreate]) -> NodeOut:
        node = await service.create_node(
            db,
            actor,
            kind=data.kind,
            code=data.code,
            name=data.name,
            parent_id=data.parent_id,
            org_unit_id=data.org_unit_id,
            voltage_kv=data.voltage_kv,
            rating_kva=data.rating_kva,
        )
        return node_out(node)

    @get(
        "/nodes/{node_id:int}",
        opt=allow(*READ_ROLES),
        operation_id="getNetworkNode",
        summary="One network node",
        responses=problem_responses(404),
    )
    async def get_node(self, db: Db, actor: CurrentActor, node_id: FromPath[int]) -> NodeOut:
        return node_out(await service.get_node(db, actor, node_id))

    @patch(
        "/nodes/{node_id:int}",
        opt=allow(*WRITE_ROLES),
        operation_id="updateNetworkNode",
        summary="Rename, re-rate, move to another org unit or (de)activate a network node",
        responses=problem_responses(404, 409, 422),
    )
    async def update_node(
        self, db: Db, actor: CurrentActor, node_id: FromPath[int], data: JSONBody[NodeUpdate]
    ) -> NodeOut:
        return node_out(await service.update_node(db, actor, node_id, **_given(data)))

    @get(
        "/tree",
        opt=allow(*READ_ROLES),
        operation_id="getNetworkTree",
        summary="The network tree of your scope, or of one region or station",
        responses=problem_responses(404),
    )
    async def get_tree(
        self,
        db: Db,
        actor: CurrentActor,
        org_unit_id: Annotated[int | None, Parameter(ge=1)] = None,
    ) -> NetworkTree:
        roots = await service.tree(db, actor, org_unit_id=org_unit_id)
        return NetworkTree(items=[_tree_out(r) for r in roots])

    @get(
        "/supply-points",
        opt=allow(*READ_ROLES),
        operation_id="listSupplyPoints",
        summary="Supply points in your scope (q searches code, address and town)",
    )
    async def list_supply_points(
        self,
        db: Db,
        actor: CurrentActor,
        transformer_id: Annotated[int | None, Parameter(ge=1)] = None,
        org_unit_id: Annotated[int | None, Parameter(ge=1)] = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        active: Annotated[bool | None, Parameter()] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> SupplyPointList:
        rows, total = await service.list_supply_points(
            db,
            actor,
            transformer_id=transformer_id,
            org_unit_id=org_unit_id,
            q=q,
            active=active,
            limit=limit,
            offset=offset,
        )
        return SupplyPointList(items=[supply_point_out(p) for p in rows], total=total)

    @post(
        "/supply-points",
        opt=allow(*WRITE_ROLES),
        operation_id="createSupplyPoint",
        summary="Add a supply point under a transformer",
        responses=problem_responses(404, 409, 422),
    )
    async def create_supply_point(
        self, db: Db, actor: CurrentActor, data: JSONBody[SupplyPointCreate]
    ) -> SupplyPointOut:
        point = await service.create_supply_point(
            db,
            actor,
            code=data.code,
            transformer_id=data.transformer_id,
            address=data.address,
            town=data.town,
            latitude=data.latitude,
            longitude=data.longitude,
            phases=data.phases,
            org_unit_id=data.org_unit_id,
        )
        return supply_point_out(point)

    @get(
        "/supply-points/{point_id:int}",
        opt=allow(*READ_ROLES),
        operation_id="getSupplyPoint",
        summary="One supply point",
        responses=problem_responses(404),
    )
    async def get_supply_point(self, db: Db, actor: CurrentActor, point_id: FromPath[int]) -> SupplyPointOut:
        return supply_point_out(await service.get_supply_point(db, actor, point_id))

    @patch(
        "/supply-points/{point_id:int}",
        opt=allow(*WRITE_ROLES),
        operation_id="updateSupplyPoint",
        summary="Change a supply point's address, position, phases, transformer or org unit",
        responses=problem_responses(404, 409, 422),
    )
    async def update_supply_point(
        self, db: Db, actor: CurrentActor, point_id: FromPath[int], data: JSONBody[SupplyPointUpdate]
    ) -> SupplyPointOut:
        return supply_point_out(await service.update_supply_point(db, actor, point_id, **_given(data)))

    @post(
        "/supply-points/{point_id:int}/deactivate",
        opt=allow(*WRITE_ROLES),
        operation_id="deactivateSupplyPoint",
        status_code=200,
        summary="Take a supply point out of use (refused while an account there is open)",
        responses=problem_responses(404, 409),
    )
    async def deactivate_supply_point(
        self, db: Db, actor: CurrentActor, point_id: FromPath[int], data: JSONBody[DeactivateIn]
    ) -> SupplyPointOut:
        point = await service.deactivate_supply_point(db, actor, point_id, reason=data.reason)
        return supply_point_out(point)
