"""Serves the built single-page apps: /staff/* and /portal/* fall back to their index.html (deep links)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.response import File, Redirect
from litestar.static_files import create_static_files_router

from backend.http.security import PUBLIC


def _index(state: State, app_name: str) -> File:
    index = Path(state.settings.frontend_dist) / app_name / "index.html"
    if not index.is_file():
        raise HTTPException(
            status_code=503,
            detail="The web interface has not been built. Run `make run` (or `make frontend`) first.",
        )
    return File(
        index,
        content_disposition_type="inline",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


@get(["/staff", "/staff/{path:path}"], opt=PUBLIC, include_in_schema=False, operation_id="staffApp")
async def staff_app(state: State) -> File:
    return _index(state, "staff")


@get(["/portal", "/portal/{path:path}"], opt=PUBLIC, include_in_schema=False, operation_id="portalApp")
async def portal_app(state: State) -> File:
    return _index(state, "portal")


@get("/", opt=PUBLIC, include_in_schema=False, operation_id="root")
async def root(request: Request[Any, Any, Any]) -> Redirect:
    return Redirect(path="/staff/")


def web_routes(dist: str) -> list[Any]:
    assets = Path(dist) / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    static: Router = create_static_files_router(
        path="/assets",
        directories=[assets],
        opt=PUBLIC,
        include_in_schema=False,
        cache_control=None,
        name="assets",
    )
    return [staff_app, portal_app, root, static]


__all__ = ["Response", "web_routes"]
