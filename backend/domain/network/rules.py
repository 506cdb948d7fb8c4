"""Supply network rules (pure): which node may stand under which, codes, coordinates, phases."""

from __future__ import annotations

import re
from decimal import Decimal

NODE_KINDS = ("substation", "feeder", "transformer")
# The kind a node of each kind must hang under (None: it stands at the top of the network).
PARENT_KIND: dict[str, str | None] = {"substation": None, "feeder": "substation", "transformer": "feeder"}
# Org units that may own network nodes and supply points (the utility itself owns none directly).
OWNING_ORG_KINDS = ("region", "station")
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{0,31}$")
PHASES = (1, 3)


def normalise_code(code: str) -> str:
    return code.strip().upper()


def code_problem(code: str) -> str | None:
    if not CODE_RE.fullmatch(code):
        return (
            "A code must be 1 to 32 characters: letters, digits, dot, dash, slash or underscore, "
            "starting with a letter or digit."
        )
    return None


def node_kind_problem(kind: str, parent_kind: str | None) -> str | None:
    """Why a ``kind`` node cannot stand under a ``parent_kind`` node (None: top), or None when it can."""
    if kind not in PARENT_KIND:
        return f"Unknown network node kind '{kind}': use substation, feeder or transformer."
    expected = PARENT_KIND[kind]
    if expected is None and parent_kind is not None:
        return "A substation stands at the top of the network; it has no parent."
    if expected is not None and parent_kind is None:
        return f"A {kind} must be placed under a {expected}."
    if expected is not None and parent_kind != expected:
        return f"A {kind} goes under a {expected}, not under a {parent_kind}."
    return None


def child_path(parent_path: str | None, node_id: int) -> str:
    """Materialised path of a node: its parent's path plus its own id (``/3/8/21/``)."""
    return f"{parent_path or '/'}{node_id}/"


def coordinates_problem(latitude: Decimal | None, longitude: Decimal | None) -> str | None:
    """GPS position: both or neither; latitude -90..90, longitude -180..180 (WGS 84 degrees)."""
    if (latitude is None) != (longitude is None):
        return "Give both latitude and longitude, or neither."
    if latitude is not None and not Decimal(-90) <= latitude <= Decimal(90):
        return f"Latitude must be between -90 and 90 degrees, got {latitude}."
    if longitude is not None and not Decimal(-180) <= longitude <= Decimal(180):
        return f"Longitude must be between -180 and 180 degrees, got {longitude}."
    return None


def phases_problem(phases: int) -> str | None:
    return (
        None if phases in PHASES else f"A supply point is single-phase (1) or three-phase (3), not {phases}."
    )


def org_kind_problem(org_kind: str) -> str | None:
    if org_kind not in OWNING_ORG_KINDS:
        return (
            "Network equipment and supply points belong to a region or a station, not to the utility itself."
        )
    return None
