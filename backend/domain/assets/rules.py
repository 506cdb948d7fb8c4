"""Assets rules (pure): meter numbers, STS configuration and the meter lifecycle.

No Litestar, no SQLAlchemy: every function here takes plain values and returns a value or a problem
message written for the engineer at the counter or in the field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sts
from sts.meter_pan import IIN_LEGACY, IIN_SHORT

METER_KINDS = ("sts_keypad", "sts_smartcard", "ami", "postpaid")
STS_REQUIRED_KINDS = frozenset({"sts_keypad", "sts_smartcard"})
LOCATION_KINDS = ("warehouse", "crew")
EAS = ("07", "09", "11")
DKGAS = ("02", "04")
BASE_DATES = (1993, 2014, 2035)
DEFAULT_KEN = 255
STS_FIELDS = ("sgc", "ti", "krn", "kt", "ea", "dkga", "base_date", "ken")
# Changing any of these is a key change (keys context), never a plain meter update.
KEY_CHANGE_FIELDS = frozenset(STS_FIELDS)


class MeterNumberProblem(ValueError):
    """A meter number that cannot be a DRN; the message is shown to the person who typed it."""


def normalise_meter_no(text: str) -> str:
    """Drop the spaces and dashes people copy from the meter's label."""
    return "".join(ch for ch in text.strip() if ch not in " -\t")


def parse_meter_no(text: str) -> tuple[str, str]:
    """Return ``(iin, drn)`` for a meter number as printed on the meter, or raise MeterNumberProblem.

    11 digits are a DRN of IIN 600727 (MfrCode 2 + DSN 8 + check digit); 13 digits of IIN 0000
    (MfrCode 4 + DSN 8 + check digit). The last digit is the Luhn check digit over the others.
    """
    drn = normalise_meter_no(text)
    if not drn:
        raise MeterNumberProblem("Enter the meter number printed on the meter.")
    if not (drn.isascii() and drn.isdigit()):
        raise MeterNumberProblem(f"Meter number {drn} must contain digits only.")
    if len(drn) == 11:
        iin = IIN_LEGACY
    elif len(drn) == 13:
        iin = IIN_SHORT
    else:
        raise MeterNumberProblem(
            f"Meter number {drn} has {len(drn)} digits; an STS meter number has 11 digits "
            "(manufacturer code 2 + serial 8 + check digit) or 13 digits (manufacturer code 4 + serial 8 "
            "+ check digit)."
        )
    try:
        sts.validate_drn(iin, drn)
    except sts.CheckDigitError:
        expected = sts.luhn_check_digit(drn[:-1])
        raise MeterNumberProblem(
            f"Meter number {drn} has a wrong check digit: expected {expected}. Check the number on the meter."
        ) from None
    return iin, drn


def pan_for(iin: str, meter_no: str) -> str:
    """The 18-digit meter PAN (IIN || DRN || Luhn)."""
    return sts.meter_pan(iin, meter_no)


@dataclass(frozen=True, slots=True)
class StsConfig:
    sgc: int
    ti: int
    krn: int
    kt: int
    ea: str
    dkga: str
    base_date: int
    ken: int = DEFAULT_KEN


def sts_config_problem(kind: str, values: Mapping[str, Any]) -> str | None:
    """Check a meter's STS configuration for its kind; None when it is acceptable.

    sts_keypad and sts_smartcard need the full configuration; an AMI meter either has all of it (it
    also takes STS tokens) or none; a postpaid meter has none.
    """
    if kind not in METER_KINDS:
        return f"Meter kind must be one of {', '.join(METER_KINDS)}, not '{kind}'."
    given = {name for name in STS_FIELDS if values.get(name) is not None and name != "ken"}
    if kind == "postpaid":
        if given or values.get("ken") is not None:
            return (
                "A postpaid meter takes no tokens: leave the STS fields "
                "(SGC, TI, KRN, KT, EA, DKGA, base date, KEN) empty."
            )
        return None
    if kind == "ami" and not given:
        return None
    missing = [name for name in STS_FIELDS if name != "ken" and values.get(name) is None]
    if missing:
        label = "An STS meter" if kind in STS_REQUIRED_KINDS else "An AMI meter that takes STS tokens"
        return f"{label} needs its STS configuration; missing: {', '.join(f.upper() for f in missing)}."
    sgc, ti, krn, kt = values["sgc"], values["ti"], values["krn"], values["kt"]
    ea, dkga, base_date = values["ea"], values["dkga"], values["base_date"]
    ken = values.get("ken")
    if not isinstance(sgc, int) or not 0 <= sgc <= 999_999:
        return f"SGC (supply group code) must be a 6-digit number, got {sgc!r}."
    if not isinstance(ti, int) or not 0 <= ti <= 99:
        return f"TI (tariff index) must be between 0 and 99, got {ti!r}."
    if not isinstance(krn, int) or not 1 <= krn <= 9:
        return f"KRN (key revision number) must be between 1 and 9, got {krn!r}."
    if not isinstance(kt, int) or not 0 <= kt <= 3:
        return f"KT (key type) must be between 0 and 3 (normally 2, a unique DUTK), got {kt!r}."
    if ea not in EAS:
        return f"EA (encryption algorithm) must be 07 or 11 (09 is accepted but unverified), got {ea!r}."
    if dkga not in DKGAS:
        return f"DKGA (key generation algorithm) must be 02 or 04, got {dkga!r}."
    if ea == "11" and dkga != "04":
        return "EA11 (MISTY1) meters use DKGA04; DKGA02 is only for EA07 and EA09."
    if base_date not in BASE_DATES:
        return f"Base date must be 1993, 2014 or 2035, got {base_date!r}."
    if ken is not None and (not isinstance(ken, int) or not 0 <= ken <= 255):
        return f"KEN (key expiry number) must be between 0 and 255, got {ken!r}."
    return None


def sts_config(kind: str, values: Mapping[str, Any]) -> StsConfig | None:
    """The checked STS configuration, or None for a meter without one. Raises ValueError if invalid."""
    problem = sts_config_problem(kind, values)
    if problem:
        raise ValueError(problem)
    if values.get("sgc") is None:
        return None
    ken = values.get("ken")
    return StsConfig(
        sgc=values["sgc"],
        ti=values["ti"],
        krn=values["krn"],
        kt=values["kt"],
        ea=values["ea"],
        dkga=values["dkga"],
        base_date=values["base_date"],
        ken=DEFAULT_KEN if ken is None else ken,
    )


def sts_warnings(ea: str | None, base_date: int | None) -> list[str]:
    """Things an engineer should know about a meter's configuration (it is still accepted)."""
    out = []
    if ea == "09":
        out.append("EA09 (DES) is accepted but unverified: there are no public test vectors for it.")
    if base_date == 1993:
        out.append(
            "Base date 1993: token ids ran out in November 2024; "
            "this meter needs a key change to base date 2014."
        )
    return out


def key_change_fields_problem(fields: set[str]) -> str | None:
    """A meter update may not touch key data: that is a key change in the keys context."""
    touched = sorted(fields & KEY_CHANGE_FIELDS)
    if not touched:
        return None
    return (
        f"{', '.join(f.upper() for f in touched)} cannot be changed by editing the meter: it is a meter key "
        "change. Use the meter key change function (Meters → key change) so the meter receives key change "
        "tokens."
    )


def phases_problem(phases: int) -> str | None:
    return None if phases in (1, 3) else f"A meter has 1 or 3 phases, not {phases}."


# --- lifecycle -----------------------------------------------------------------------------------

STATUS_LABELS = {
    "in_stock": "in stock",
    "issued": "issued to a crew",
    "installed": "installed",
    "removed": "removed",
    "faulty": "faulty",
    "scrapped": "scrapped",
}

# from status -> allowed next statuses
TRANSITIONS: dict[str, frozenset[str]] = {
    "in_stock": frozenset({"issued", "faulty"}),
    "issued": frozenset({"installed", "in_stock"}),
    "installed": frozenset({"removed", "faulty"}),
    "removed": frozenset({"in_stock", "faulty"}),
    "faulty": frozenset({"scrapped"}),
    "scrapped": frozenset(),
}


def move_problem(
    from_status: str,
    to_status: str,
    *,
    location_kind: str | None,
    has_supply_point: bool,
) -> str | None:
    """Check one lifecycle step; None when it may happen. ``location_kind`` is the target location's kind."""
    if to_status not in STATUS_LABELS:
        return f"Unknown meter status '{to_status}'."
    if from_status == to_status:
        return f"The meter is already {STATUS_LABELS[to_status]}."
    if to_status not in TRANSITIONS.get(from_status, frozenset()):
        allowed = sorted(TRANSITIONS.get(from_status, frozenset()))
        nxt = " or ".join(STATUS_LABELS[s] for s in allowed) if allowed else "nothing (this is final)"
        return (
            f"A meter that is {STATUS_LABELS[from_status]} cannot become {STATUS_LABELS[to_status]}; "
            f"it can become {nxt}."
        )
    if to_status == "installed":
        if not has_supply_point:
            return "Say at which supply point the meter is installed."
        if location_kind is not None:
            return "An installed meter is at its supply point, not at a stock location."
        return None
    if has_supply_point:
        return "Only an installation names a supply point."
    if to_status == "issued":
        if location_kind != "crew":
            return "A meter is issued to a crew: choose a crew location."
    elif to_status == "in_stock":
        if location_kind != "warehouse":
            return "A meter returns to stock at a warehouse: choose a warehouse."
    elif to_status == "removed":
        if location_kind is None:
            return "Say where the removed meter goes (a warehouse or a crew)."
    elif to_status == "faulty":
        if from_status == "installed" and location_kind is None:
            return "Say where the faulty meter taken off the supply point goes (a warehouse or a crew)."
    elif to_status == "scrapped" and location_kind is not None:
        return "A scrapped meter has no stock location."
    return None


def phases_mismatch_problem(
    meter_no: str, meter_phases: int, point_code: str, point_phases: int
) -> str | None:
    if meter_phases == point_phases:
        return None
    return (
        f"Supply point {point_code} is {point_phases}-phase but meter {meter_no} is {meter_phases}-phase; "
        "install a meter that matches the supply."
    )


def location_after(
    from_status: str, to_status: str, current_location: int | None, target_location: int | None
) -> int | None:
    """The meter's stock location after a step (installed and scrapped meters have none)."""
    if to_status in ("installed", "scrapped"):
        return None
    return target_location if target_location is not None else current_location


def location_code_problem(code: str) -> str | None:
    if not code or len(code) > 32:
        return "A stock location code has 1 to 32 characters."
    if not all(ch.isalnum() or ch in "-_." for ch in code):
        return f"Stock location code '{code}' may only contain letters, digits, '-', '_' and '.'."
    return None


# --- CSV import (the file a manufacturer ships) ----------------------------------------------------

IMPORT_COLUMNS = (
    "meter_no",
    "manufacturer",
    "model",
    "kind",
    "phases",
    "serial_no",
    "sgc",
    "ti",
    "krn",
    "kt",
    "ea",
    "dkga",
    "base_date",
    "ken",
)
REQUIRED_IMPORT_COLUMNS = ("meter_no", "manufacturer", "model", "kind")
MAX_IMPORT_LINES = 50_000


@dataclass(frozen=True, slots=True)
class LineError:
    line: int  # 1 is the header line
    column: str | None
    message: str


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    meter_no: str
    iin: str
    kind: str
    manufacturer: str
    model: str
    phases: int
    serial_no: str | None
    sts: StsConfig | None


@dataclass(slots=True)
class ParsedImport:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)


def _int_cell(value: str, column: str, line: int, errors: list[LineError]) -> int | None:
    if value == "":
        return None
    try:
        return int(value)
    except ValueError:
        errors.append(LineError(line, column, f"{column} must be a whole number, got '{value[:40]}'."))
        return None


def _two_digit_code(value: str) -> str | None:
    if value == "":
        return None
    value = value.upper().removeprefix("EA").removeprefix("DKGA")
    return value.zfill(2) if value.isdigit() and len(value) <= 2 else value


def parse_import(text: str) -> ParsedImport:
    """Check every line of a meter import file; collect all problems (line, column, message).

    The file is CSV with a header line naming the columns (any order; extra columns are refused so a
    typo does not silently drop data). Empty lines are skipped. Duplicate meter numbers within the
    file are reported on every line after the first.
    """
    out = ParsedImport()
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        out.errors.append(LineError(1, None, "The file is empty: it needs a header line and meter lines."))
        return out
    except csv.Error as exc:
        out.errors.append(LineError(1, None, f"The header line is not valid CSV: {exc}."))
        return out
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in IMPORT_COLUMNS]
    missing = [n for n in REQUIRED_IMPORT_COLUMNS if n not in names]
    if unknown or missing or len(set(names)) != len(names):
        parts = []
        if missing:
            parts.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s): {', '.join(unknown)}")
        if len(set(names)) != len(names):
            parts.append("a column is named twice")
        out.errors.append(
            LineError(
                1,
                None,
                "The header line is wrong ("
                + "; ".join(parts)
                + "). Expected columns: "
                + ", ".join(IMPORT_COLUMNS)
                + ".",
            )
        )
        return out
    seen: dict[str, int] = {}
    count = 0
    try:
        for cells in reader:
            line = reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            count += 1
            if count > MAX_IMPORT_LINES:
                out.errors.append(
                    LineError(line, None, f"A file may hold at most {MAX_IMPORT_LINES} meters; split it.")
                )
                break
            if len(cells) != len(names):
                out.errors.append(
                    LineError(line, None, f"The line has {len(cells)} fields; the header has {len(names)}.")
                )
                continue
            row = {n: c.strip() for n, c in zip(names, cells, strict=True)}
            errors: list[LineError] = []
            iin = drn = ""
            try:
                iin, drn = parse_meter_no(row["meter_no"])
            except MeterNumberProblem as exc:
                errors.append(LineError(line, "meter_no", str(exc)))
            if drn:
                first = seen.get(drn)
                if first is not None:
                    errors.append(
                        LineError(
                            line, "meter_no", f"Meter number {drn} is also on line {first} of this file."
                        )
                    )
                else:
                    seen[drn] = line
            for column in ("manufacturer", "model"):
                if not row[column]:
                    errors.append(LineError(line, column, f"{column} must not be empty."))
                elif len(row[column]) > 100:
                    errors.append(LineError(line, column, f"{column} has more than 100 characters."))
            kind = row["kind"].lower()
            if kind not in METER_KINDS:
                errors.append(
                    LineError(
                        line, "kind", f"kind must be one of {', '.join(METER_KINDS)}, not '{row['kind']}'."
                    )
                )
            phases = _int_cell(row.get("phases", ""), "phases", line, errors)
            if phases is not None and phases_problem(phases):
                errors.append(LineError(line, "phases", phases_problem(phases) or ""))
            serial = row.get("serial_no") or None
            if serial is not None and len(serial) > 64:
                errors.append(LineError(line, "serial_no", "serial_no has more than 64 characters."))
            values: dict[str, Any] = {}
            for column in ("sgc", "ti", "krn", "kt", "base_date", "ken"):
                values[column] = _int_cell(row.get(column, ""), column, line, errors)
            values["ea"] = _two_digit_code(row.get("ea", ""))
            values["dkga"] = _two_digit_code(row.get("dkga", ""))
            config: StsConfig | None = None
            if kind in METER_KINDS and not any(e.column in STS_FIELDS for e in errors):
                problem = sts_config_problem(kind, values)
                if problem:
                    errors.append(LineError(line, _sts_column(problem), problem))
                else:
                    config = sts_config(kind, values)
            if errors:
                out.errors.extend(errors)
                continue
            out.rows.append(
                ImportRow(
                    line=line,
                    meter_no=drn,
                    iin=iin,
                    kind=kind,
                    manufacturer=row["manufacturer"],
                    model=row["model"],
                    phases=phases or 1,
                    serial_no=serial,
                    sts=config,
                )
            )
    except csv.Error as exc:
        out.errors.append(LineError(reader.line_num, None, f"The file is not valid CSV here: {exc}."))
    if not out.rows and not out.errors:
        out.errors.append(LineError(1, None, "The file has a header line but no meters."))
    return out


def _sts_column(problem: str) -> str | None:
    """Which column an STS configuration problem is about (for the error table)."""
    for prefix, column in (
        ("SGC", "sgc"),
        ("TI ", "ti"),
        ("KRN", "krn"),
        ("KT ", "kt"),
        ("EA11", "dkga"),
        ("EA ", "ea"),
        ("DKGA", "dkga"),
        ("Base date", "base_date"),
        ("KEN", "ken"),
    ):
        if problem.startswith(prefix):
            return column
    return None
