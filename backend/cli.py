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
        "backend.app:serve_app",
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


def cmd_api_clients_list(_args: argparse.Namespace) -> int:
    from backend.domain.auth import service

    clients = asyncio.run(_with_session(_settings(), service.list_api_clients))
    for c in clients:
        used = c.last_used_at.isoformat(timespec="seconds") if c.last_used_at else "never"
        state = "active" if c.active else "revoked"
        limit = f"{c.rate_limit_per_minute}/min"
        print(f"{c.id:>4}  {c.name:<30} {c.role:<10} {state:<8} {limit:>10}  last used {used}")
    return 0


def cmd_api_clients_revoke(args: argparse.Namespace) -> int:
    from backend.domain.actor import SYSTEM
    from backend.domain.auth import service

    async def work(session: Any) -> Any:
        return await service.revoke_api_client(session, SYSTEM, args.name)

    client = asyncio.run(_with_session(_settings(), work))
    print(f"revoked API client '{client.name}' (id {client.id}); all app processes refuse its key within 5 s")
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


def _cli_actor() -> Any:
    from backend.domain.actor import Actor

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(kind="system", id=None, name=f"cli:{who}", roles=frozenset({"admin"}), org_path="/")


def cmd_keys_init_master(args: argparse.Namespace) -> int:
    from backend.domain.keys.keystore import init_master_file

    path = args.file or _settings().master_key_file
    key_id = init_master_file(path)
    print(f"created master key file {path} (mode 0600, master key id {key_id})")
    print("keep an offline copy in the key ceremony safe: losing it loses every vending key")
    return 0


def _read_key_material(args: argparse.Namespace) -> Any:
    from backend.domain.keys.rules import SecretBytes, parse_key_hex

    if args.key_file:
        try:
            text = Path(args.key_file).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(
                f"cannot read the key file {args.key_file}: {getattr(exc, 'strerror', None) or 'not text'}"
            ) from None
    elif sys.stdin.isatty():
        text = getpass.getpass("Vending key (hex, not echoed): ")
    else:
        text = sys.stdin.read()
    try:
        return SecretBytes(parse_key_hex(text))
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _parse_expiry(raw: str | None) -> Any:
    from datetime import UTC, date, datetime

    if raw is None:
        return None
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), datetime.min.time(), tzinfo=UTC)
        stamp = datetime.fromisoformat(raw)
    except ValueError:
        raise CliError(
            f"--expires must be an ISO date or date-time such as 2030-12-31, got {raw!r}"
        ) from None
    if stamp.tzinfo is None:
        raise CliError("--expires needs a time zone (e.g. 2030-12-31T00:00:00Z) or a plain date")
    return stamp.astimezone(UTC)


def cmd_keys_import(args: argparse.Namespace) -> int:
    from backend.domain.keys import service

    settings = _settings()
    material = _read_key_material(args)
    expires = _parse_expiry(args.expires)
    store = service.keystore_for(settings)

    async def work(session: Any) -> Any:
        return await service.import_vending_key(
            session,
            store,
            _cli_actor(),
            sgc=args.sgc,
            krn=args.krn,
            kt=args.kt,
            dkga=args.dkga,
            base_date=args.base_date,
            material=material,
            expires_at=expires,
            label=args.label,
        )

    row = asyncio.run(_with_session(settings, work))
    print(
        f"imported vending key {row.id}: SGC {row.sgc:06d} KRN {row.krn} KT {row.kt} DKGA{row.dkga} "
        f"base {row.base_date} (wrapped with master key {row.master_key_id})"
    )
    return 0


def cmd_keys_list(_args: argparse.Namespace) -> int:
    from backend.domain.keys import service
    from backend.domain.keys.keystore import KeyStoreUnavailable

    settings = _settings()

    async def work(session: Any) -> Any:
        rows, _total = await service.list_vending_keys(session, limit=10000)
        return rows

    rows = asyncio.run(_with_session(settings, work))
    try:
        current = service.keystore_for(settings).master_key_id
    except KeyStoreUnavailable as exc:
        current = None
        print(f"warning: {exc}", file=sys.stderr)
    print(
        f"{'id':>4}  {'sgc':6}  krn  kt  dkga  base  {'status':8}  {'expires':10}  {'master key':16}  label"
    )
    for r in rows:
        expires = r.expires_at.date().isoformat() if r.expires_at else "-"
        stale = "" if current is None or r.master_key_id == current else "  (not the current master key!)"
        print(
            f"{r.id:>4}  {r.sgc:06d}  {r.krn:>3}  {r.kt:>2}  {r.dkga:>4}  {r.base_date}  {r.status:8}  "
            f"{expires:10}  {r.master_key_id:16}  {r.label or ''}{stale}"
        )
    print(f"{len(rows)} vending key(s); current master key {current or 'unavailable'}")
    return 0


def cmd_keys_rewrap(args: argparse.Namespace) -> int:
    from backend.domain.keys import service
    from backend.domain.keys.keystore import load_keystore

    settings = _settings()
    old = service.keystore_for(settings)
    new = load_keystore(args.new_master_file)

    async def work(session: Any) -> int:
        count: int = await service.rewrap_all(session, _cli_actor(), old, new)
        return count

    count = asyncio.run(_with_session(settings, work))
    print(f"re-encrypted {count} vending key(s) from master key {old.master_key_id} to {new.master_key_id}")
    print("each one was verified by decrypting it with the new master key. Now:")
    print(
        f"  1. set GRIDVEND_MASTER_KEY_FILE={Path(args.new_master_file).resolve()} for every gridvend process"
    )
    print("  2. restart the servers")
    print(f"  3. keep the old file {settings.master_key_file} offline until backups made before now expire")
    return 0


def cmd_meters_import(args: argparse.Namespace) -> int:
    from backend.domain.actor import Actor
    from backend.domain.assets import service as assets

    settings = _settings()
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(f"{args.file} is not UTF-8 text; save it as CSV (UTF-8)") from None
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    actor = Actor(kind="system", id=None, name=f"cli:{who}", roles=frozenset({"admin"}), org_path="/")

    async def work(session: Any) -> tuple[int, Any]:
        result: tuple[int, Any] = await assets.import_meters(
            session, actor, text, location_code=args.location, source=Path(args.file).name
        )
        return result

    try:
        count, location = asyncio.run(_with_session(settings, work))
    except assets.ImportRejected as exc:
        for error in exc.extra.get("errors", []):
            column = f" [{error['column']}]" if error["column"] else ""
            print(f"line {error['line']}{column}: {error['message']}", file=sys.stderr)
        print(f"gridvend: {exc.detail}", file=sys.stderr)
        return 1
    print(f"imported {count} meters into stock at {location.code}")
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
    clients.add_parser("list", help="the clients, their state and last use").set_defaults(
        func=cmd_api_clients_list
    )
    cr = clients.add_parser("revoke", help="switch a client's key off for good")
    cr.add_argument("--name", required=True)
    cr.set_defaults(func=cmd_api_clients_revoke)

    audit = sub.add_parser("audit", help="audit log").add_subparsers(
        dest="audit_command", required=True, parser_class=_Parser
    )
    audit.add_parser("verify", help="check the hash chain").set_defaults(func=cmd_audit_verify)

    keys = sub.add_parser("keys", help="vending keys and the master key").add_subparsers(
        dest="keys_command", required=True, parser_class=_Parser
    )
    init_master = keys.add_parser("init-master", help="create a new random master key file (mode 0600)")
    init_master.add_argument("--file", help="where (default: GRIDVEND_MASTER_KEY_FILE)")
    init_master.set_defaults(func=cmd_keys_init_master)
    kimport = keys.add_parser(
        "import", help="load a vending key; the key is read as hex from standard input (or --key-file)"
    )
    kimport.add_argument("--sgc", type=int, required=True, help="supply group code")
    kimport.add_argument("--krn", type=int, required=True, help="key revision number 1..9")
    kimport.add_argument("--kt", type=int, required=True, help="key type 0..3")
    kimport.add_argument("--dkga", required=True, choices=["02", "04"])
    kimport.add_argument("--base-date", type=int, required=True, choices=[1993, 2014, 2035])
    kimport.add_argument("--expires", help="ISO date or date-time with zone")
    kimport.add_argument("--label")
    kimport.add_argument("--key-file", help="read the hex key from this file instead of standard input")
    kimport.set_defaults(func=cmd_keys_import)
    keys.add_parser("list", help="list vending keys (never their material)").set_defaults(func=cmd_keys_list)
    rewrap = keys.add_parser("rewrap", help="re-encrypt every vending key under a new master key")
    rewrap.add_argument(
        "--new-master-file", required=True, help="made with `gridvend keys init-master --file`"
    )
    rewrap.set_defaults(func=cmd_keys_rewrap)

    meters = sub.add_parser("meters", help="meters and stock").add_subparsers(
        dest="meters_command", required=True, parser_class=_Parser
    )
    mi = meters.add_parser(
        "import", help="import a manufacturer's meter file (CSV, see docs/meter-import.md): all lines or none"
    )
    mi.add_argument("file", help="the CSV file")
    mi.add_argument("--location", required=True, help="code of the warehouse receiving the meters")
    mi.set_defaults(func=cmd_meters_import)

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
