"""Auth use cases: users and roles, sign-in with lockout and rate limits, sessions, API clients."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.types import utcnow
from backend.domain import ratelimit
from backend.domain.actor import Actor
from backend.domain.audit import service as audit
from backend.domain.auth.client_cache import ApiClientCache, KnownClient
from backend.domain.auth.models import ApiClient, AuthSession, User, UserRole
from backend.domain.auth.passwords import Passwords
from backend.domain.auth.rules import (
    API_CLIENT_ROLES,
    lock_until,
    new_api_key,
    new_secret,
    normalise_username,
    parse_api_key,
    password_problem,
    roles_problem,
    sha256_hex,
    username_problem,
)
from backend.domain.errors import (
    AccountLocked,
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from backend.domain.org.models import OrgUnit
from backend.domain.org.service import get_unit, in_scope


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    passwords: Passwords
    session_idle: timedelta
    session_absolute: timedelta
    login_ip_limit: int
    login_ip_window_seconds: int
    lockout_threshold: int
    lockout_minutes: int


@dataclass(frozen=True, slots=True)
class SignedIn:
    actor: Actor
    user: User
    org_unit: OrgUnit | None
    session_token: str
    csrf_token: str


async def roles_of(session: AsyncSession, user_id: int) -> frozenset[str]:
    rows = (await session.execute(select(UserRole.role).where(UserRole.user_id == user_id))).scalars().all()
    return frozenset(rows)


def actor_for(
    user: User,
    roles: frozenset[str],
    unit: OrgUnit | None,
    *,
    ip: str | None = None,
    request_id: str | None = None,
    session_id: int | None = None,
) -> Actor:
    return Actor(
        kind="user",
        id=user.id,
        name=user.username,
        roles=roles,
        realm=user.realm,
        org_unit_id=user.org_unit_id,
        org_path=unit.path if unit else None,
        ip=ip,
        request_id=request_id,
        session_id=session_id,
    )


async def create_user(
    session: AsyncSession,
    policy: AuthPolicy,
    actor: Actor,
    *,
    username: str,
    full_name: str,
    password: str,
    roles: set[str],
    org_unit_id: int | None,
    realm: str = "staff",
    email: str | None = None,
    phone: str | None = None,
) -> User:
    username = normalise_username(username)
    problem = (
        username_problem(username)
        or password_problem(password, username)
        or roles_problem(set(roles), realm)
        or (None if full_name.strip() else "Full name must not be empty.")
    )
    if problem:
        raise InvalidInput(problem)
    if realm == "staff" and org_unit_id is None:
        raise InvalidInput("A staff user must belong to an org unit (utility, region or station).")
    password_hash = await policy.passwords.hash(password)
    async with session.begin():
        unit = None
        if org_unit_id is not None:
            unit = await get_unit(session, org_unit_id)
            if not in_scope(actor, unit):
                raise PermissionDenied("You can only create users in your own org unit or below it.")
        exists = (await session.execute(select(User.id).where(User.username == username))).first()
        if exists:
            raise Conflict(f"A user named '{username}' already exists.")
        user = User(
            username=username,
            full_name=full_name.strip(),
            password_hash=password_hash,
            realm=realm,
            org_unit_id=org_unit_id,
            email=email,
            phone=phone,
        )
        session.add(user)
        await session.flush()
        for role in sorted(roles):
            session.add(UserRole(user_id=user.id, role=role, granted_by=actor.name))
        await audit.record(
            session,
            actor,
            "user.create",
            entity_type="user",
            entity_id=user.id,
            detail={"username": username, "realm": realm, "org_unit_id": org_unit_id},
            org_unit_id=org_unit_id,
        )
        for role in sorted(roles):
            await audit.record(
                session,
                actor,
                "role.grant",
                entity_type="user",
                entity_id=user.id,
                detail={"username": username, "role": role},
                org_unit_id=org_unit_id,
            )
    return user


async def set_roles(session: AsyncSession, actor: Actor, user_id: int, roles: set[str]) -> frozenset[str]:
    async with session.begin():
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound(f"User {user_id} does not exist.")
        unit = await get_unit(session, user.org_unit_id) if user.org_unit_id else None
        if unit is not None and not in_scope(actor, unit):
            raise NotFound(f"User {user_id} does not exist.")
        problem = roles_problem(set(roles), user.realm)
        if problem:
            raise InvalidInput(problem)
        if user.id == actor.id and "admin" in actor.roles and "admin" not in roles:
            raise InvalidInput("You cannot remove your own admin role; ask another admin.")
        current = await roles_of(session, user.id)
        for role in sorted(set(roles) - current):
            session.add(UserRole(user_id=user.id, role=role, granted_by=actor.name))
            await audit.record(
                session,
                actor,
                "role.grant",
                entity_type="user",
                entity_id=user.id,
                detail={"username": user.username, "role": role},
                org_unit_id=user.org_unit_id,
            )
        for role in sorted(current - set(roles)):
            await session.execute(delete(UserRole).where(UserRole.user_id == user.id, UserRole.role == role))
            await audit.record(
                session,
                actor,
                "role.revoke",
                entity_type="user",
                entity_id=user.id,
                detail={"username": user.username, "role": role},
                org_unit_id=user.org_unit_id,
            )
    return frozenset(roles)


async def login(
    session: AsyncSession,
    policy: AuthPolicy,
    *,
    username: str,
    password: str,
    realm: str,
    ip: str | None,
    user_agent: str | None,
    request_id: str | None,
) -> SignedIn:
    """Check a password and open a session; every outcome is audited and counted in the database."""
    username = normalise_username(username)
    now = utcnow()
    anonymous = Actor(
        kind="user", id=None, name=username[:64] or "?", realm=realm, ip=ip, request_id=request_id
    )
    failure: Exception | None = None
    result: SignedIn | None = None
    async with session.begin():
        count, retry_after = await ratelimit.hit(
            session, f"login:ip:{ip or '-'}", now, policy.login_ip_window_seconds
        )
        if count > policy.login_ip_limit:
            failure = RateLimited(
                f"Too many sign-in attempts from this address. Try again in {retry_after} seconds.",
                retry_after_seconds=retry_after,
            )
            await audit.record(session, anonymous, "auth.login_throttled", detail={"realm": realm})
        else:
            user = (
                await session.execute(select(User).where(User.username == username).with_for_update())
            ).scalar_one_or_none()
            if user is not None and user.locked_until is not None and user.locked_until > now:
                minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
                failure = AccountLocked(
                    f"This account is locked after repeated failed sign-ins. Try again in {minutes} minutes "
                    "or ask an administrator to unlock it."
                )
                await audit.record(
                    session,
                    anonymous,
                    "auth.login_locked",
                    entity_type="user",
                    entity_id=user.id,
                    detail={"realm": realm},
                )
            else:
                ok = await policy.passwords.verify(user.password_hash if user else None, password)
                if not ok or user is None or not user.active or user.realm != realm:
                    failure = NotAuthenticated("Wrong username or password.")
                    detail: dict[str, object] = {"realm": realm}
                    if user is not None:
                        user.failed_logins += 1
                        locked = lock_until(
                            user.failed_logins, now, policy.lockout_threshold, policy.lockout_minutes
                        )
                        if locked is not None:
                            user.locked_until = locked
                            detail["locked_until"] = locked.isoformat()
                        detail["failed_logins"] = user.failed_logins
                    await audit.record(
                        session,
                        anonymous,
                        "auth.login_failed",
                        entity_type="user",
                        entity_id=user.id if user else None,
                        detail=detail,
                    )
                else:
                    user.failed_logins = 0
                    user.locked_until = None
                    user.last_login_at = now
                    token, csrf = new_secret(), new_secret()
                    auth_session = AuthSession(
                        token_hash=sha256_hex(token),
                        csrf_hash=sha256_hex(csrf),
                        user_id=user.id,
                        created_at=now,
                        last_seen_at=now,
                        expires_at=now + policy.session_absolute,
                        ip=ip,
                        user_agent=(user_agent or "")[:300] or None,
                    )
                    session.add(auth_session)
                    await session.flush()
                    roles = await roles_of(session, user.id)
                    unit = await session.get(OrgUnit, user.org_unit_id) if user.org_unit_id else None
                    actor = actor_for(
                        user, roles, unit, ip=ip, request_id=request_id, session_id=auth_session.id
                    )
                    await audit.record(
                        session,
                        actor,
                        "auth.login",
                        entity_type="user",
                        entity_id=user.id,
                        detail={"realm": realm},
                    )
                    result = SignedIn(
                        actor=actor, user=user, org_unit=unit, session_token=token, csrf_token=csrf
                    )
    if failure is not None:
        raise failure
    assert result is not None
    return result


@dataclass(frozen=True, slots=True)
class ResolvedSession:
    actor: Actor
    user: User
    org_unit: OrgUnit | None
    csrf_hash: str


async def resolve_session(
    session: AsyncSession, policy: AuthPolicy, token: str, *, ip: str | None, request_id: str | None
) -> ResolvedSession | None:
    """Find the live session behind a cookie value, sliding its idle timeout at most once a minute."""
    now = utcnow()
    async with session.begin():
        row = (
            await session.execute(
                select(AuthSession, User)
                .join(User, User.id == AuthSession.user_id)
                .where(AuthSession.token_hash == sha256_hex(token))
            )
        ).first()
        if row is None:
            return None
        auth_session, user = row
        if (
            auth_session.revoked
            or not user.active
            or auth_session.expires_at <= now
            or auth_session.last_seen_at + policy.session_idle <= now
        ):
            return None
        if now - auth_session.last_seen_at > timedelta(seconds=60):
            await session.execute(
                update(AuthSession).where(AuthSession.id == auth_session.id).values(last_seen_at=now)
            )
        roles = await roles_of(session, user.id)
        unit = await session.get(OrgUnit, user.org_unit_id) if user.org_unit_id else None
    actor = actor_for(user, roles, unit, ip=ip, request_id=request_id, session_id=auth_session.id)
    return ResolvedSession(actor=actor, user=user, org_unit=unit, csrf_hash=auth_session.csrf_hash)


async def logout(session: AsyncSession, actor: Actor) -> None:
    async with session.begin():
        if actor.session_id is not None:
            await session.execute(
                update(AuthSession).where(AuthSession.id == actor.session_id).values(revoked=True)
            )
        await audit.record(session, actor, "auth.logout", entity_type="user", entity_id=actor.id)


async def unlock_user(session: AsyncSession, actor: Actor, user_id: int) -> None:
    async with session.begin():
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound(f"User {user_id} does not exist.")
        user.failed_logins = 0
        user.locked_until = None
        await audit.record(
            session,
            actor,
            "user.unlock",
            entity_type="user",
            entity_id=user.id,
            detail={"username": user.username},
            org_unit_id=user.org_unit_id,
        )


async def list_users(
    session: AsyncSession, actor: Actor, *, q: str | None, limit: int, offset: int
) -> tuple[list[tuple[User, frozenset[str], OrgUnit | None]], int]:
    query = (
        select(User, OrgUnit).outerjoin(OrgUnit, OrgUnit.id == User.org_unit_id).where(User.realm == "staff")
    )
    if actor.org_path and actor.org_path != "/":
        query = query.where(OrgUnit.path.startswith(actor.org_path))
    if q:
        like = f"%{q.strip().lower()}%"
        query = query.where(or_(User.username.like(like), func.lower(User.full_name).like(like)))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (await session.execute(query.order_by(User.username).limit(limit).offset(offset))).all()
    role_rows = (
        await session.execute(
            select(UserRole.user_id, UserRole.role).where(UserRole.user_id.in_([user.id for user, _ in rows]))
        )
    ).all()
    roles: dict[int, set[str]] = {}
    for user_id, role in role_rows:
        roles.setdefault(user_id, set()).add(role)
    out: list[tuple[User, frozenset[str], OrgUnit | None]] = [
        (user, frozenset(roles.get(user.id, ())), unit) for user, unit in rows
    ]
    return out, int(total)


async def create_api_client(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    role: str,
    org_unit_id: int | None,
    rate_limit_per_minute: int = 600,
) -> tuple[ApiClient, str]:
    """Register a vendor-API client; return it with its key (shown this once, stored as a hash)."""
    if role not in API_CLIENT_ROLES:
        raise InvalidInput(f"An API client's role must be one of: {', '.join(sorted(API_CLIENT_ROLES))}.")
    if not name.strip():
        raise InvalidInput("An API client needs a name.")
    prefix, key = new_api_key()
    async with session.begin():
        if (await session.execute(select(ApiClient.id).where(ApiClient.name == name.strip()))).first():
            raise Conflict(f"An API client named '{name.strip()}' already exists.")
        client = ApiClient(
            name=name.strip(),
            role=role,
            key_prefix=prefix,
            key_hash=sha256_hex(key),
            org_unit_id=org_unit_id,
            rate_limit_per_minute=rate_limit_per_minute,
        )
        session.add(client)
        await session.flush()
        await audit.record(
            session,
            actor,
            "api_client.create",
            entity_type="api_client",
            entity_id=client.id,
            detail={"name": client.name, "role": role},
            org_unit_id=org_unit_id,
        )
    return client, key


@dataclass(frozen=True, slots=True)
class ResolvedClient:
    actor: Actor
    retry_after_seconds: int | None  # set when the client is over its per-minute limit


async def _load_client(session: AsyncSession, prefix: str) -> KnownClient | None:
    """Read the client behind a key prefix (and note, once a minute at most, that it was used)."""
    async with session.begin():
        row = (
            await session.execute(
                select(ApiClient, OrgUnit)
                .outerjoin(OrgUnit, OrgUnit.id == ApiClient.org_unit_id)
                .where(ApiClient.key_prefix == prefix)
            )
        ).first()
        if row is None:
            return None
        client, unit = row
        now = utcnow()
        stale = client.last_used_at is None or now - client.last_used_at > timedelta(seconds=60)
        if client.active and stale:
            await session.execute(update(ApiClient).where(ApiClient.id == client.id).values(last_used_at=now))
        return KnownClient(
            id=client.id,
            name=client.name,
            role=client.role,
            key_hash=client.key_hash,
            active=client.active,
            org_unit_id=client.org_unit_id,
            org_path=unit.path if unit else None,
            rate_limit_per_minute=client.rate_limit_per_minute,
        )


async def resolve_api_key(
    sessionmaker: async_sessionmaker[AsyncSession],
    key: str,
    *,
    ip: str | None,
    request_id: str | None,
    clients: ApiClientCache,
    counter: ratelimit.BatchedCounter,
) -> ResolvedClient | None:
    """The API client behind a bearer key, with this call counted against its per-minute limit.

    Clients are remembered for a few seconds (``clients``); the per-minute counter is shared by every
    app process through the database (``counter`` batches its writes).
    """
    prefix = parse_api_key(key)
    if prefix is None:
        return None
    client = clients.get(prefix)
    if client is None:
        async with sessionmaker() as session:
            client = await _load_client(session, prefix)
        if client is None:
            return None
        clients.put(prefix, client)
    if not client.active or not hmac.compare_digest(client.key_hash, sha256_hex(key)):
        return None
    count, retry_after = await counter.hit(
        sessionmaker, f"api_client:{client.id}", utcnow(), 60, client.rate_limit_per_minute
    )
    actor = Actor(
        kind="api_client",
        id=client.id,
        name=client.name,
        roles=frozenset({client.role}),
        realm="api",
        org_unit_id=client.org_unit_id,
        org_path=client.org_path,
        ip=ip,
        request_id=request_id,
    )
    return ResolvedClient(actor, retry_after if count > client.rate_limit_per_minute else None)


async def list_api_clients(session: AsyncSession) -> list[ApiClient]:
    async with session.begin():
        return list((await session.execute(select(ApiClient).order_by(ApiClient.name))).scalars().all())


async def revoke_api_client(session: AsyncSession, actor: Actor, name: str) -> ApiClient:
    """Switch a client's key off for good (a new client with a new key replaces it). Audited."""
    async with session.begin():
        client = (
            await session.execute(select(ApiClient).where(ApiClient.name == name).with_for_update())
        ).scalar_one_or_none()
        if client is None:
            raise NotFound(f"No API client is named '{name}'.")
        if not client.active:
            raise Conflict(f"API client '{name}' is already revoked.")
        client.active = False
        await session.flush()
        await audit.record(
            session,
            actor,
            "api_client.revoke",
            entity_type="api_client",
            entity_id=client.id,
            detail={"name": client.name},
            org_unit_id=client.org_unit_id,
        )
    return client


def is_locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now
