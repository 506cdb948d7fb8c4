"""`gridvend keys …` as an operator uses it: material only on standard input, never echoed."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.domain.keys import service
from backend.domain.keys.keystore import WrappedKey, load_keystore
from backend.domain.keys.models import VendingKey
from tests.conftest import make_settings
from tests.support.keys import db_session, random_material
from tests.support.server import run_cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {
        "GRIDVEND_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "GRIDVEND_MASTER_KEY_FILE": str(tmp_path / "master.key"),
    }
    assert run_cli(env, "db", "upgrade").returncode == 0
    return env


def _import(
    env: dict[str, str], material: bytes, *extra: str, sgc: str = "123456"
) -> subprocess.CompletedProcess[str]:
    return run_cli(
        env,
        "keys",
        "import",
        "--sgc",
        sgc,
        "--krn",
        "1",
        "--kt",
        "2",
        "--dkga",
        "02",
        "--base-date",
        "1993",
        *extra,
        stdin=material.hex() + "\n",
    )


def test_init_master_creates_a_private_file_once(env: dict[str, str]) -> None:
    path = Path(env["GRIDVEND_MASTER_KEY_FILE"])
    created = run_cli(env, "keys", "init-master")
    assert created.returncode == 0, created.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key_hex = path.read_text().strip()
    assert key_hex not in created.stdout and load_keystore(path).master_key_id in created.stdout
    again = run_cli(env, "keys", "init-master")
    assert again.returncode == 2 and "never overwritten" in again.stderr
    assert path.read_text().strip() == key_hex


def test_import_without_a_master_key_file_says_how_to_make_one(env: dict[str, str]) -> None:
    refused = _import(env, random_material("02"))
    assert refused.returncode == 2
    assert "gridvend keys init-master" in refused.stderr


async def test_import_list_and_rewrap(env: dict[str, str], tmp_path: Path) -> None:
    assert run_cli(env, "keys", "init-master").returncode == 0
    first, second = random_material("02"), random_material("04")
    done = _import(env, first, "--label", "KMC batch 7", "--expires", "2035-01-01")
    assert done.returncode == 0, done.stderr
    key_file = tmp_path / "vk.hex"
    key_file.write_text(second.hex().upper())
    via_file = run_cli(
        env,
        *("keys", "import", "--sgc", "600999", "--krn", "1", "--kt", "2", "--dkga", "04"),
        *("--base-date", "2014", "--key-file", str(key_file)),
    )
    assert via_file.returncode == 0, via_file.stderr
    duplicate = _import(env, random_material("02"))
    assert duplicate.returncode == 2 and "already loaded" in duplicate.stderr
    wrong_length = _import(env, random_material("04"), sgc="111111")
    assert wrong_length.returncode == 2
    assert "DKGA02 vending key has 8 bytes" in wrong_length.stderr
    not_hex = run_cli(
        env,
        *("keys", "import", "--sgc", "1", "--krn", "1", "--kt", "2", "--dkga", "02", "--base-date", "1993"),
        stdin="secretpassword12\n",
    )
    assert not_hex.returncode == 2 and "not valid hexadecimal" in not_hex.stderr
    assert "secretpassword12" not in not_hex.stderr

    listed = run_cli(env, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert "KMC batch 7" in listed.stdout and "2035-01-01" in listed.stdout and "600999" in listed.stdout
    assert "2 vending key(s)" in listed.stdout

    new_file = tmp_path / "new-master.key"
    assert run_cli(env, "keys", "init-master", "--file", str(new_file)).returncode == 0
    rewrap = run_cli(env, "keys", "rewrap", "--new-master-file", str(new_file))
    assert rewrap.returncode == 0, rewrap.stderr
    assert "re-encrypted 2 vending key(s)" in rewrap.stdout
    assert f"GRIDVEND_MASTER_KEY_FILE={new_file.resolve()}" in rewrap.stdout
    stale = run_cli(env, "keys", "list")
    assert stale.stdout.count("not the current master key") == 2
    fresh = run_cli({**env, "GRIDVEND_MASTER_KEY_FILE": str(new_file)}, "keys", "list")
    assert "not the current master key" not in fresh.stdout

    for result in (done, via_file, listed, rewrap, stale, fresh):
        out = result.stdout + result.stderr
        for material in (first, second):
            assert material.hex() not in out.lower()

    settings = make_settings(env["GRIDVEND_DATABASE_URL"], tmp_path, master_key_file=str(new_file))
    store = load_keystore(new_file)
    async with db_session(settings) as session:
        rows = (await session.execute(select(VendingKey).order_by(VendingKey.sgc))).scalars().all()
        got = [
            store.unwrap(WrappedKey(r.key_nonce, r.key_ciphertext, r.master_key_id), service.binding_of(r))
            for r in rows
        ]
    assert [g.reveal() for g in got] == [first, second]
