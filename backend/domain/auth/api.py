"""Auth endpoints: staff and portal sign-in, the signed-in user, user administration."""

from __future__ import annotations

from typing import Annotated, Any, cast

from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import Cookie, State
from litestar.params import FromPath, JSONBody, Parameter

from backend.domain.auth import service
from backend.domain.auth.models import User
from backend.domain.auth.rules import STAFF_ROLES, Role
from backend.domain.auth.schemas import LoginIn, LoginOut, Me, Realm, RolesIn, UserCreate, UserList, UserOut
from backend.domain.org.models import OrgUnit
from backend.domain.org.schemas import OrgKind, OrgUnitRef
from backend.http.deps import CurrentActor, Db, Limit, Offset
from backend.http.problems import problem_responses
from backend.http.security import CSRF_COOKIE, PUBLIC, SESSION_COOKIE, SIGNED_IN, allow


def _unit_ref(unit: OrgUnit | None) -> OrgUnitRef | None:
    return None if unit is None else OrgUnitRef(id=unit.id, name=unit.name, kind=cast(OrgKind, unit.kind))


def _me(user: User, roles: frozenset[str], unit: OrgUnit | None) -> Me:
    return Me(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        realm=cast(Realm, user.realm),
        roles=sorted(roles),
        org_unit=_unit_ref(unit),
    )


def _session_cookies(state: State, token: str, csrf: str) -> list[Cookie]:
    settings = state.settings
    max_age = settings.session_absolute_hours * 3600
    return [
        Cookie(
            key=SESSION_COOKIE,
            value=token,
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
            path="/",
            max_age=max_age,
        ),
        Cookie(
            key=CSRF_COOKIE,
            value=csrf,
            httponly=False,
            samesite="strict",
            secure=settings.cookie_secure,
            path="/",
            max_age=max_age,
        ),
    ]


def _expired_cookies() -> list[Cookie]:
    return [
        Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/", httponly=True),
        Cookie(key=CSRF_COOKIE, value="", max_age=0, path="/"),
    ]


async def _login(
    request: Request[Any, Any, Any], db: Db, state: State, data: LoginIn, realm: str
) -> Response[LoginOut]:
    signed_in = await service.login(
        db,
        state.auth_policy,
        username=data.username,
        password=data.password,
        realm=realm,
        ip=request.scope.get("state", {}).get("client_ip"),
        user_agent=request.headers.get("user-agent"),
        request_id=request.scope.get("state", {}).get("request_id"),
    )
    body = LoginOut(
        user=_me(signed_in.user, signed_in.actor.roles, signed_in.org_unit), csrf_token=signed_in.csrf_token
    )
    return Response(
        body, status_code=200, cookies=_session_cookies(state, signed_in.session_token, signed_in.csrf_token)
    )


async def _current(db: Db, actor: CurrentActor) -> Me:
    user = await db.get(User, actor.id)
    assert user is not None
    unit = await db.get(OrgUnit, user.org_unit_id) if user.org_unit_id else None
    return _me(user, actor.roles, unit)


class StaffAuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/login",
        opt=PUBLIC,
        operation_id="authLogin",
        status_code=200,
        responses=problem_responses(401, 423, 429),
        summary="Sign in as staff",
        description="Opens a browser session (HttpOnly cookie) and returns the CSRF token that every "
        "later unsafe request must send in X-CSRF-Token. 401 wrong credentials, 423 locked, 429 throttled.",
    )
    async def login(
        self, request: Request[Any, Any, Any], db: Db, state: State, data: JSONBody[LoginIn]
    ) -> Response[LoginOut]:
        return await _login(request, db, state, data, "staff")

    @get("/me", opt=allow(*STAFF_ROLES), operation_id="authMe", summary="The signed-in staff user")
    async def me(self, db: Db, actor: CurrentActor) -> Me:
        return await _current(db, actor)

    @post("/logout", opt=SIGNED_IN, operation_id="authLogout", status_code=204, summary="Sign out")
    async def logout(self, db: Db, actor: CurrentActor) -> Response[None]:
        await service.logout(db, actor)
        return Response(None, status_code=204, cookies=_expired_cookies())


class PortalAuthController(Controller):
    path = "/api/v1/portal/auth"
    tags = ["portal"]

    @post(
        "/login",
        opt=PUBLIC,
        operation_id="portalLogin",
        status_code=200,
        responses=problem_responses(401, 423, 429),
        summary="Sign in to the customer portal",
    )
    async def login(
        self, request: Request[Any, Any, Any], db: Db, state: State, data: JSONBody[LoginIn]
    ) -> Response[LoginOut]:
        return await _login(request, db, state, data, "customer")

    @get("/me", opt=allow(Role.CUSTOMER), operation_id="portalMe", summary="The signed-in customer")
    async def me(self, db: Db, actor: CurrentActor) -> Me:
        return await _current(db, actor)

    @post(
        "/logout",
        opt=allow(Role.CUSTOMER),
        operation_id="portalLogout",
        status_code=204,
        summary="Sign out of the portal",
    )
    async def logout(self, db: Db, actor: CurrentActor) -> Response[None]:
        await service.logout(db, actor)
        return Response(None, status_code=204, cookies=_expired_cookies())


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["admin"]

    @get(
        "/", opt=allow(Role.ADMIN), operation_id="listUsers", summary="Staff users in your org unit and below"
    )
    async def list_users(
        self,
        db: Db,
        actor: CurrentActor,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> UserList:
        from backend.db.types import utcnow

        rows, total = await service.list_users(db, actor, q=q, limit=limit, offset=offset)
        now = utcnow()
        return UserList(
            items=[
                UserOut(
                    id=u.id,
                    username=u.username,
                    full_name=u.full_name,
                    roles=sorted(r),
                    org_unit=_unit_ref(unit),
                    active=u.active,
                    locked=service.is_locked(u, now),
                    last_login_at=u.last_login_at,
                )
                for u, r, unit in rows
            ],
            total=total,
        )

    @post("/", opt=allow(Role.ADMIN), operation_id="createUser", summary="Create a staff user")
    async def create_user(
        self, db: Db, state: State, actor: CurrentActor, data: JSONBody[UserCreate]
    ) -> UserOut:
        user = await service.create_user(
            db,
            state.auth_policy,
            actor,
            username=data.username,
            full_name=data.full_name,
            password=data.password,
            roles=set(data.roles),
            org_unit_id=data.org_unit_id,
            email=data.email,
            phone=data.phone,
        )
        unit = await db.get(OrgUnit, user.org_unit_id) if user.org_unit_id else None
        return UserOut(
            id=user.id,
            username=user.username,
            full_name=user.full_name,
            roles=sorted(data.roles),
            org_unit=_unit_ref(unit),
            active=user.active,
            locked=False,
            last_login_at=None,
        )

    @put(
        "/{user_id:int}/roles",
        opt=allow(Role.ADMIN),
        operation_id="setUserRoles",
        summary="Replace a user's roles (each grant and revoke is audited)",
    )
    async def set_roles(
        self, db: Db, actor: CurrentActor, user_id: FromPath[int], data: JSONBody[RolesIn]
    ) -> RolesIn:
        roles = await service.set_roles(db, actor, user_id, set(data.roles))
        return RolesIn(roles=sorted(roles))

    @post(
        "/{user_id:int}/unlock",
        opt=allow(Role.ADMIN),
        operation_id="unlockUser",
        status_code=204,
        summary="Unlock an account locked by failed sign-ins",
    )
    async def unlock(self, db: Db, actor: CurrentActor, user_id: FromPath[int]) -> None:
        await service.unlock_user(db, actor, user_id)
