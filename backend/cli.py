"""The ``gridvend`` command: serve, migrate, seed demo data, manage users, API clients and the audit log."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from backend.settings import Settings, SettingsError, load_settings


class CliError(Exception):
    """A problem the operator can fix; printed as one line, exit code 2."""


def _settings() -> Settings:
    return load_settings()


async def _with_session(settings: Settings, work: Callable[[Any], Awaitable[Any]]) -> Any:
    from backend.db.engine import create_engine, create_sessionmaker

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


def _policy(settings: Settings) -> Any:
    from backend.domain.auth.policy import policy_from_settings

    return policy_from_settings(settings)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    print(
        f"gridvend listening on http://{host}:{port}/  (staff: /staff/  portal: /portal/  API docs: /schema)",
        flush=True,
    )
    uvicorn.run(
        "backend.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        proxy_headers=settings.trust_forwarded_for,
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from backend.db.migrate import upgrade

    settings = _settings()
    upgrade(settings, args.revision)
    print(f"database migrated to {args.revision}")
    return 0


def cmd_db_current(_args: argparse.Namespace) -> int:
    from backend.db.engine import create_engine
    from backend.db.migrate import current_revision, head_revision

    settings = _settings()

    async def run() -> str | None:
        engine = create_engine(settings)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    current = asyncio.run(run())
    print(f"current: {current or 'empty database'}  head: {head_revision()}")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from backend.demo import seed_demo

    settings = _settings()
    created = asyncio.run(seed_demo(settings, only_if_empty=args.if_empty))
    print("demo data loaded" if created else "database already has data; demo data not loaded")
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise CliError("the two passwords differ")
    return first


def cmd_users_create(args: argparse.Namespace) -> int:
    from backend.domain.actor import SYSTEM
    from backend.domain.auth import service
    from backend.domain.org.service import get_unit_by_code

    settings = _settings()
    password = _read_password(args.password_stdin)

    async def work(session: Any) -> Any:
        unit_id = (await get_unit_by_code(session, args.org_unit.upper())).id
        await session.rollback()
        return await service.create_user(
            session,
            _policy(settings),
            SYSTEM,
            username=args.username,
            full_name=args.full_name,
            password=password,
            roles=set(args.role),
            org_unit_id=unit_id,
            realm="staff",
            email=args.email,
            phone=args.phone,
        )

    user = asyncio.run(_with_session(settings, work))
    print(f"created user {user.username} (id {user.id}) with roles {', '.join(sorted(args.role))}")
    return 0


def cmd_users_roles(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from backend.domain.actor import SYSTEM
    from backend.domain.auth import service
    from backend.domain.auth.models import User
    from backend.domain.errors import NotFound

    settings = _settings()

    async def work(session: Any) -> frozenset[str]:
        user_id = (
            await session.execute(select(User.id).where(User.username == args.username.lower()))
        ).scalar()
        await session.rollback()
        if user_id is None:
            raise NotFound(f"no user named '{args.username}'")
        return await service.set_roles(session, SYSTEM, user_id, set(args.role))

    roles = asyncio.run(_with_session(settings, work))
    print(f"{args.username} now has roles {', '.join(sorted(roles))}")
    return 0


def cmd_api_clients_create(args: argparse.Namespace) -> int:
    from backend.domain.actor import SYSTEM
    from backend.domain.auth import service
    from backend.domain.org.service import get_unit_by_code

    settings = _settings()

    async def work(session: Any) -> Any:
        unit_id = None
        if args.org_unit:
            unit_id = (await get_unit_by_code(session, args.org_unit.upper())).id
            await session.rollback()
        return await service.create_api_client(
            session,
            SYSTEM,
            name=args.name,
            role=args.role,
            org_unit_id=unit_id,
            rate_limit_per_minute=args.rate_limit,
        )

    client, key = asyncio.run(_with_session(settings, work))
    print(f"created API client '{client.name}' (id {client.id}, role {client.role}); its key is shown once:")
    print(key)
    return 0


def cmd_audit_verify(_args: argparse.Namespace) -> int:
    from backend.domain.audit import service

    settings = _settings()
    checked, problems = asyncio.run(_with_session(settings, service.verify))
    if problems:
        for p in problems:
            print(f"row {p.seq}: {p.problem}")
        print(f"audit chain BROKEN: {len(problems)} problem(s) in {checked} rows")
        return 1
    print(f"audit chain intact: {checked} rows checked")
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from backend.app import create_app

    schema = create_app(_settings()).openapi_schema.to_schema()
    text = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"gridvend: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gridvend", description="gridvend: prepayment vending and billing for utilities")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = sub.add_parser("serve", help="run the web server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True, parser_class=_Parser
    )
    up = db.add_parser("upgrade", help="migrate the database to the newest schema")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=cmd_db_upgrade)
    db.add_parser("current", help="show the schema revision").set_defaults(func=cmd_db_current)

    seed = sub.add_parser("seed-demo", help="load demo data")
    seed.add_argument("--if-empty", action="store_true", help="only when the database holds no data yet")
    seed.set_defaults(func=cmd_seed_demo)

    users = sub.add_parser("users", help="staff users").add_subparsers(
        dest="users_command", required=True, parser_class=_Parser
    )
    create = users.add_parser("create", help="create a staff user (asks for the password)")
    create.add_argument("--username", required=True)
    create.add_argument("--full-name", required=True)
    create.add_argument("--role", action="append", required=True, help="repeat for several roles")
    create.add_argument("--org-unit", required=True, help="code of the utility, region or station")
    create.add_argument("--email")
    create.add_argument("--phone")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    create.set_defaults(func=cmd_users_create)
    roles = users.add_parser("roles", help="replace a user's roles")
    roles.add_argument("--username", required=True)
    roles.add_argument("--role", action="append", required=True)
    roles.set_defaults(func=cmd_users_roles)

    clients = sub.add_parser("api-clients", help="vendor API clients").add_subparsers(
        dest="clients_command", required=True, parser_class=_Parser
    )
    cc = clients.add_parser("create", help="register a client; prints its key as the last line")
    cc.add_argument("--name", required=True)
    cc.add_argument("--role", default="api_client", choices=["api_client", "agent"])
    cc.add_argument("--org-unit")
    cc.add_argument("--rate-limit", type=int, default=600, help="requests per minute")
    cc.set_defaults(func=cmd_api_clients_create)

    audit = sub.add_parser("audit", help="audit log").add_subparsers(
        dest="audit_command", required=True, parser_class=_Parser
    )
    audit.add_parser("verify", help="check the hash chain").set_defaults(func=cmd_audit_verify)

    openapi = sub.add_parser("openapi", help="print the OpenAPI schema")
    openapi.add_argument("--output")
    openapi.set_defaults(func=cmd_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from sqlalchemy.exc import OperationalError

    from backend.domain.errors import DomainError

    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except SettingsError as exc:
        print(f"gridvend: {exc}", file=sys.stderr)
        return 2
    except (DomainError, CliError) as exc:
        print(f"gridvend: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"gridvend: the database cannot be used: {exc.orig}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
