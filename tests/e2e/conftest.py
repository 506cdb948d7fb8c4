"""Browser (end-to-end) test fixtures: a real `gridvend serve` on a temp database + Debian chromium.

The frontend must be built first (`cd frontend && npm ci && npm run build`); the server
serves frontend/dist. Playwright's own browser downloads are never used: we launch
/usr/bin/chromium (override with GRIDVEND_E2E_CHROMIUM).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"
BIN_DIR = Path(sys.executable).parent
GRIDVEND = BIN_DIR / "gridvend"
CHROMIUM = os.environ.get("GRIDVEND_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_PASSWORD = "gridvend-demo"
SERVER_START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_cli(args: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(
        [str(GRIDVEND), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    if proc.returncode != 0:
        pytest.fail(
            f"`gridvend {' '.join(args)}` exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}",
            pytrace=False,
        )


def _log_tail(path: Path, limit: int = 6000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no server log)"


@pytest.fixture(scope="session")
def server_env() -> Iterator[dict[str, str]]:
    """Environment of the e2e server (its database URL, master key file): tests may add rows directly."""
    tmp = Path(tempfile.mkdtemp(prefix="gridvend-e2e-"))
    env = os.environ.copy()
    env.update(
        GRIDVEND_DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/e2e.db",
        GRIDVEND_MASTER_KEY_FILE=str(tmp / "master.key"),
        GRIDVEND_FRONTEND_DIST=str(DIST),
        # every browser test signs in from 127.0.0.1: the per-address limit is tested in test_auth.py
        GRIDVEND_LOGIN_IP_LIMIT="1000",
        GRIDVEND_ARGON2_TIME_COST="1",
        GRIDVEND_ARGON2_MEMORY_KIB="1024",
    )
    try:
        yield env
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def server(server_env: dict[str, str]) -> Iterator[str]:
    """Base URL of a running gridvend server with demo data (session scoped)."""
    for built in (DIST / "staff" / "index.html", DIST / "portal" / "index.html"):
        if not built.is_file():
            pytest.fail(
                f"{built.relative_to(ROOT)} is missing: build the frontend before the e2e tests "
                "(`cd frontend && npm ci && npm run build`).",
                pytrace=False,
            )
    if not GRIDVEND.is_file():
        pytest.fail(
            f"{GRIDVEND} not found: install the project into this venv (pip install -e .).", pytrace=False
        )

    env = server_env
    tmp = Path(env["GRIDVEND_MASTER_KEY_FILE"]).parent
    _run_cli(["db", "upgrade"], env)
    _run_cli(["seed-demo"], env)

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(GRIDVEND), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        last_error = "no answer"
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"gridvend serve exited with {proc.returncode} before it was ready:\n"
                    f"{_log_tail(log_path)}",
                    pytrace=False,
                )
            try:
                resp = httpx.get(f"{base}/api/v1/health", timeout=2.0)
                if resp.status_code == 200:
                    break
                last_error = f"HTTP {resp.status_code}: {resp.text[:300]}"
            except httpx.HTTPError as exc:
                last_error = repr(exc)
            if time.monotonic() > deadline:
                pytest.fail(
                    "gridvend serve did not answer /api/v1/health with 200 within "
                    f"{SERVER_START_TIMEOUT:.0f}s "
                    f"({last_error}):\n{_log_tail(log_path)}",
                    pytrace=False,
                )
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"{CHROMIUM} not found: `apt-get install chromium` (or set GRIDVEND_E2E_CHROMIUM).", pytrace=False
        )
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(browser: Any, server: str) -> Iterator[Any]:
    """Factory: a fresh page in its own browser context (own cookies).

    Fails the test on uncaught JavaScript errors in any of its pages."""
    contexts: list[Any] = []
    js_errors: list[str] = []

    def make(viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(base_url=server, viewport=viewport or {"width": 1280, "height": 800})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda err: js_errors.append(str(err)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not js_errors, f"uncaught JavaScript errors in the page: {js_errors}"


@pytest.fixture
def page(new_page: Any) -> Any:
    return new_page()
