"""RFC 9457 problem responses for every error the API can return."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from backend.domain.errors import DomainError, RateLimited

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = structlog.get_logger("gridvend.http")

_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    423: "Locked",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    request_id = request.scope.get("state", {}).get("request_id")
    if request_id:
        body["request_id"] = request_id
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(content=body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _validation_detail(exc: ValidationException) -> tuple[str, list[dict[str, Any]]]:
    errors: list[dict[str, Any]] = []
    if isinstance(exc.extra, list):
        errors = [e for e in exc.extra if isinstance(e, dict)]
    parts = []
    for err in errors:
        message = str(err.get("message", "")).rstrip(".")
        key = err.get("key")
        if key:
            parts.append(f"{key}: {message}")
        elif message:
            parts.append(message)
    if parts:
        return "The request is not valid. " + "; ".join(parts) + ".", errors
    return exc.detail or "The request is not valid.", errors


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    headers = None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after_seconds)}
    return problem(request, exc.status, exc.detail, title=exc.title, headers=headers, **exc.extra)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ValidationException):
        detail, errors = _validation_detail(exc)
        return problem(request, 400, detail, title="Invalid request", errors=errors or None)
    status = exc.status_code
    detail = exc.detail or _TITLES.get(status, "Error")
    if status == 404 and detail == "Not Found":
        detail = f"There is nothing at {request.url.path}."
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    return problem(request, status, detail, headers=dict(exc.headers) if exc.headers else None)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # The exception text can hold data from the request: log the type and the trace, never return it.
    log.error("unhandled_error", error_type=type(exc).__name__, path=request.url.path, exc_info=exc)
    return problem(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Something went wrong on our side. Nothing was changed. Quote the request id to support.",
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem document, as every error of this API is returned."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI documentation of the given error statuses as problem documents."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_MEDIA_TYPE,
            description=_TITLES.get(status, "Error"),
            generate_examples=False,
        )
        for status in statuses
    }


def document_problems(handlers: Iterable[HTTPRouteHandler]) -> None:
    """Give every API operation the error responses it can return (400 always; 401/403 unless public)."""
    for handler in handlers:
        base = (400,) if handler.opt.get("public") else (400, 401, 403)
        handler.responses = {**problem_responses(*base), **(handler.responses or {})}


def example_response(
    status: int, container: type, description: str, example: Example
) -> dict[int, ResponseSpec]:
    """OpenAPI documentation of a success response with a worked example."""
    return {
        status: ResponseSpec(
            data_container=container, description=description, generate_examples=False, examples=[example]
        )
    }
