"""The `gridvend` command as an operator uses it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.server import run_cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {
        "GRIDVEND_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "GRIDVEND_MASTER_KEY_FILE": str(tmp_path / "master.key"),
        "GRIDVEND_ARGON2_TIME_COST": "1",
        "GRIDVEND_ARGON2_MEMORY_KIB": "1024",
    }
    assert run_cli(env, "db", "upgrade").returncode == 0
    assert run_cli(env, "seed-demo", "--if-empty").returncode == 0
    return env


def test_seed_demo_if_empty_loads_once(env: dict[str, str]) -> None:
    again = run_cli(env, "seed-demo", "--if-empty")
    assert again.returncode == 0 and "already has data" in again.stdout


def test_users_create_and_api_client_key_on_the_last_line(env: dict[str, str]) -> None:
    created = run_cli(
        env,
        "users",
        "create",
        "--username",
        "jane",
        "--full-name",
        "Jane Cashier",
        "--role",
        "cashier",
        "--org-unit",
        "dpl-cen-01",
        "--password-stdin",
        stdin="a-good-password\n",
    )
    assert created.returncode == 0, created.stderr
    assert "a-good-password" not in created.stdout + created.stderr
    duplicate = run_cli(
        env,
        "users",
        "create",
        "--username",
        "jane",
        "--full-name",
        "J",
        "--role",
        "cashier",
        "--org-unit",
        "DPL-CEN-01",
        "--password-stdin",
        stdin="a-good-password\n",
    )
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr
    client = run_cli(env, "api-clients", "create", "--name", "First Bank", "--role", "api_client")
    assert client.returncode == 0
    key = client.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"gv_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{32,}", key)


def test_bad_arguments_and_settings_give_one_line(env: dict[str, str]) -> None:
    wrong_role = run_cli(
        env,
        "users",
        "create",
        "--username",
        "x1",
        "--full-name",
        "X",
        "--role",
        "wizard",
        "--org-unit",
        "DPL",
        "--password-stdin",
        stdin="a-good-password\n",
    )
    assert wrong_role.returncode == 2 and "Unknown role" in wrong_role.stderr
    assert "Traceback" not in wrong_role.stderr
    bad_env = run_cli({**env, "GRIDVEND_PORT": "x"}, "db", "current")
    assert (
        bad_env.returncode == 2
        and bad_env.stderr.strip() == "gridvend: GRIDVEND_PORT must be a whole number, got 'x'"
    )
