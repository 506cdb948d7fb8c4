"""Dependencies shared by every controller."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.actor import Actor
from backend.domain.keys.keystore import SoftwareKeyStore
from backend.domain.keys.service import keystore_for
from backend.http.security import current_actor


async def provide_db(state: State) -> AsyncGenerator[AsyncSession, None]:
    async with state.sessionmaker() as session:
        yield session


def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    return current_actor(request)


def hot_route_context(request: Request[Any, Any, Any]) -> tuple[Actor, State]:
    """The caller and the app state, read from the request, for a route that must be cheap (the sale,
    which opens its session itself with ``state.sessionmaker()``, as :func:`provide_db` does).

    Litestar resolves two or more dependencies of a handler in an anyio task group, one task each
    (litestar-org/litestar#4563), and turns a ``State`` parameter into a fresh ``State`` per request;
    even one generator dependency (the session) costs its resolution and cleanup machinery. For the
    sale that was 0.15 ms of CPU, 7 % of the sale, for two dependencies, and about 0.05 ms more for the
    session's (``bench/vend_cpu_bench.py``). Everything else keeps the ``Db`` and ``CurrentActor``
    dependencies."""
    return current_actor(request), request.app.state


# Litestar 3 wants named dependencies marked explicitly; controllers use these aliases.
Db = NamedDependency[AsyncSession]
CurrentActor = NamedDependency[Actor]

# Paging of every list endpoint: at most 200 rows a page (default per endpoint), from ``offset``.
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0)]


def keystore(state: State) -> SoftwareKeyStore:
    """The key store, read from the master key file once per process (cached on the app state)."""
    store: SoftwareKeyStore | None = getattr(state, "keystore", None)
    if store is None:
        store = keystore_for(state.settings)
        state.keystore = store
    return store
