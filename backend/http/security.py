"""Who is calling (middleware) and may they (guard).

Every route declares its audience in ``opt``: ``PUBLIC``, ``SIGNED_IN`` or ``allow(role, ...)``.
One app-wide guard enforces it; a route that declares nothing is refused (and a test fails on it).
Browser sessions use the HttpOnly ``gridvend_session`` cookie; every unsafe request made with it must
carry the session's CSRF token in ``X-CSRF-Token``. API clients send ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.domain.actor import Actor
from backend.domain.auth import service as auth_service
from backend.domain.auth.rules import sha256_hex
from backend.domain.errors import NotAuthenticated, PermissionDenied, RateLimited

SESSION_COOKIE = "gridvend_session"
CSRF_COOKIE = "gridvend_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

PUBLIC: dict[str, Any] = {"public": True}
SIGNED_IN: dict[str, Any] = {"signed_in": True}


def allow(*roles: str) -> dict[str, Any]:
    """Route option: callers holding any of these roles may call the route."""
    if not roles:
        raise ValueError("allow() needs at least one role")
    return {"roles": frozenset(roles)}


@dataclass(frozen=True, slots=True)
class Principal:
    actor: Actor
    via: str  # "cookie" or "bearer"
    csrf_hash: str | None = None


def _client_ip(scope: Scope, trust_forwarded: bool) -> str | None:
    if trust_forwarded:
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                return value.decode("latin-1").split(",")[0].strip()[:64]
    client = scope.get("client")
    return client[0] if client else None


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, wanted: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name == wanted:
            return value
    return None


def auth_middleware(app: ASGIApp) -> ASGIApp:
    """Resolve the caller of every /api request into ``scope['user']`` (a Principal, or None)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not scope.get("path", "").startswith("/api/"):
            scope["user"] = None
            await app(scope, receive, send)
            return
        state = scope["app"].state
        ip = _client_ip(scope, state.settings.trust_forwarded_for)
        request_id = scope.get("state", {}).get("request_id")
        scope.setdefault("state", {})["client_ip"] = ip
        principal: Principal | None = None
        authorization = _header(scope, b"authorization")
        if authorization and authorization.lower().startswith("bearer "):
            resolved_client = await auth_service.resolve_api_key(
                state.sessionmaker,
                authorization[7:].strip(),
                ip=ip,
                request_id=request_id,
                clients=state.api_clients,
                counter=state.api_rate_counter,
            )
            scope.setdefault("state", {})["bad_bearer"] = resolved_client is None
            if resolved_client is not None:
                principal = Principal(actor=resolved_client.actor, via="bearer")
                scope["state"]["retry_after"] = resolved_client.retry_after_seconds
        else:
            token = _cookie(scope, SESSION_COOKIE)
            if token:
                async with state.sessionmaker() as session:
                    resolved = await auth_service.resolve_session(
                        session, state.auth_policy, token, ip=ip, request_id=request_id
                    )
                if resolved is not None:
                    principal = Principal(actor=resolved.actor, via="cookie", csrf_hash=resolved.csrf_hash)
        scope["user"] = principal
        await app(scope, receive, send)

    return middleware


async def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The one guard of the app: checks the route's declared audience, the realm and CSRF.

    A coroutine although it never awaits: Litestar runs a plain function guard in a worker thread,
    which cost every request a thread hop."""
    opt = handler.opt
    if opt.get("public"):
        return
    principal: Principal | None = connection.scope.get("user")
    if principal is None:
        if connection.scope.get("state", {}).get("bad_bearer"):
            raise NotAuthenticated("The API key was not recognised or has been disabled.")
        raise NotAuthenticated("Sign in first.")
    retry_after = connection.scope.get("state", {}).get("retry_after")
    if retry_after:
        raise RateLimited(
            f"This API client is over its request limit per minute. Try again in {retry_after} seconds.",
            retry_after_seconds=retry_after,
        )
    if principal.via == "cookie" and connection.scope.get("method", "GET") not in SAFE_METHODS:
        sent = _header(connection.scope, CSRF_HEADER.encode())
        if (
            not sent
            or principal.csrf_hash is None
            or not hmac.compare_digest(sha256_hex(sent), principal.csrf_hash)
        ):
            raise PermissionDenied(
                "The request is missing its security token (CSRF). Reload the page and try again."
            )
    if opt.get("signed_in"):
        return
    roles = opt.get("roles")
    if not roles:
        raise PermissionDenied("This route has no access rule, so nobody may call it.")
    if not principal.actor.roles.intersection(roles):
        raise PermissionDenied("Your role does not allow this.")


def current_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    principal: Principal | None = connection.scope.get("user")
    if principal is None:
        raise NotAuthenticated("Sign in first.")
    return principal.actor
