"""CLI: every subcommand in-process, bad arguments, and one real subprocess run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sts.cli import main

KEY = "E653341F9D5BF36F"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_decoder_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "decoder-key",
        "--dkga",
        "02",
        "--vending-key",
        "ABABABABABABABAB",
        "--iin",
        "600727",
        "--drn",
        "00000000000",
        "--kt",
        "2",
        "--sgc",
        "123456",
        "--ti",
        "01",
        "--krn",
        "1",
    )
    assert (code, out.strip().upper()) == (0, KEY)
    code, out, _ = run(
        capsys,
        "decoder-key",
        "--dkga",
        "04",
        "--vending-key",
        "ABABABABABABABAB949494949494949401234567",
        "--iin",
        "600727",
        "--drn",
        "00000000000",
        "--kt",
        "2",
        "--sgc",
        "123457",
        "--ti",
        "01",
        "--krn",
        "1",
        "--base-date",
        "1993",
        "--ea",
        "11",
    )
    assert (code, out.strip().upper()) == (0, "F94B6ED353C3BFDB113E2D3A7EA3C41D")


def test_credit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "credit",
        "--ea",
        "07",
        "--key",
        KEY,
        "--subclass",
        "0",
        "--tid",
        "5871715",
        "--units",
        "1",
        "--rnd",
        "5",
    )
    assert (code, out) == (0, "23716100501183194197\n")
    code, out, _ = run(
        capsys,
        "credit",
        "--ea",
        "07",
        "--key",
        "0ABC12DEF3456789",
        "--subclass",
        "0",
        "--issued-at",
        "1996-03-25T13:55:22+00:00",
        "--base-date",
        "1993",
        "--units",
        "256",
        "--rnd",
        "11",
    )
    assert (code, out) == (0, "29054347139309851356\n")


def test_management_and_test(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "management",
        "--ea",
        "07",
        "--key",
        KEY,
        "--subclass",
        "1",
        "--tid",
        "5910315",
        "--value",
        "FFFF",
        "--rnd",
        "5",
    )
    assert (code, out) == (0, "29511990995826640868\n")
    assert run(capsys, "test", "--subclass", "1", "--control", "2", "--mfr", "0")[:2] == (
        0,
        "01152921513331042448\n",
    )


def test_key_change(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "key-change",
        "--ea",
        "07",
        "--key",
        "9DC0722C29A6CC0C",
        "--new-key",
        "B08205E074AFC5D6",
        "--kt",
        "2",
        "--krn",
        "5",
        "--ti",
        "01",
        "--ken",
        "FF",
        "--ro",
        "1",
    )
    assert (code, out.split()) == (0, ["44163577485799480640", "26556810679164981397"])
    code, out, _ = run(
        capsys,
        "key-change",
        "--ea",
        "11",
        "--key",
        "F94B6ED353C3BFDB113E2D3A7EA3C41D",
        "--new-key",
        "B208834372EF892EF6E04C28593090D4",
        "--kt",
        "2",
        "--krn",
        "1",
        "--ti",
        "02",
        "--ken",
        "FF",
        "--ro",
        "0",
        "--sgc",
        "123457",
    )
    assert code == 0 and out.split()[:2] == ["34812744915211133004", "46903925208523674737"]
    assert len(out.split()) == 4


def test_decode(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "decode", "--ea", "07", "--key", KEY, "23716100501183194197", "--json")
    data = json.loads(out)
    assert code == 0 and data["crc_ok"] is True and data["token_class"] == 0 and data["subclass"] == 0
    assert data["fields"]["tid"] == 5871715 and data["fields"]["amount"] == 1
    code, out, _ = run(capsys, "decode", "56493153725450313471")
    assert code == 0 and "class: 1" in out and "crc: ok" in out
    code, out, _ = run(capsys, "decode", "--ea", "07", "--key", "060B8643C59A27F1", "23716100501183194197")
    assert code == 1 and "crc: FAIL" in out
    code, out, _ = run(capsys, "decode", "23716100501183194197")
    assert code == 0 and "class: 0" in out


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["credit", "--ea", "07", "--key", "XYZ", "--subclass", "0", "--tid", "1", "--units", "1"], "--key"),
        (["credit", "--ea", "05", "--key", KEY, "--subclass", "0", "--tid", "1", "--units", "1"], "--ea"),
        (["credit", "--ea", "07", "--key", KEY, "--subclass", "0", "--tid", "x", "--units", "1"], "--tid"),
        (
            ["credit", "--ea", "07", "--key", KEY, "--subclass", "0", "--tid", "1", "--units", "18201625"],
            "--units",
        ),
        (
            [
                "credit",
                "--ea",
                "07",
                "--key",
                KEY,
                "--subclass",
                "0",
                "--issued-at",
                "2020-01-01T00:00",
                "--units",
                "1",
            ],
            "--issued-at",
        ),
        (
            ["management", "--ea", "07", "--key", KEY, "--subclass", "0", "--tid", "1", "--value", "GG"],
            "--value",
        ),
        (
            [
                "key-change",
                "--ea",
                "07",
                "--key",
                KEY,
                "--new-key",
                "00",
                "--kt",
                "2",
                "--krn",
                "1",
                "--ti",
                "1",
                "--ken",
                "FF",
                "--ro",
                "0",
            ],
            "--new-key",
        ),
        (["test", "--subclass", "0", "--control", "-1", "--mfr", "0"], "--control"),
        (
            [
                "decoder-key",
                "--dkga",
                "02",
                "--vending-key",
                "AB",
                "--iin",
                "600727",
                "--drn",
                "00000000000",
                "--kt",
                "2",
                "--sgc",
                "123456",
                "--ti",
                "01",
                "--krn",
                "1",
            ],
            "--vending-key",
        ),
        (["decode", "12345"], "TOKEN"),
        (["credit", "--ea", "07"], "--key"),
    ],
)
def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], named: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and named in err and "Traceback" not in err


def test_library_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys,
        "decoder-key",
        "--dkga",
        "02",
        "--vending-key",
        "ABABABABABABABAB",
        "--iin",
        "600727",
        "--drn",
        "00000000001",
        "--kt",
        "2",
        "--sgc",
        "123456",
        "--ti",
        "01",
        "--krn",
        "1",
    )
    assert code == 2 and "check digit" in err and len(err.strip().splitlines()) == 1


def test_console_script_subprocess() -> None:
    exe = Path(sys.executable).parent / "sts"
    if not exe.exists():
        pytest.fail(f"console script not installed at {exe}")
    done = subprocess.run(
        [str(exe), "test", "--subclass", "0", "--control", "68719476735", "--mfr", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "56493153725450313471\n")
    bad = subprocess.run(
        [str(exe), "credit", "--ea", "07"], capture_output=True, text=True, timeout=30, check=False
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
