"""Organisation tree rules (pure)."""

from __future__ import annotations

CHILD_KIND = {"utility": "region", "region": "station"}


def child_path(parent_path: str | None, unit_id: int) -> str:
    return f"{parent_path or '/'}{unit_id}/"


def path_within(path: str, scope_path: str | None) -> bool:
    """True when ``path`` is the scope itself or below it. No scope (None) sees nothing."""
    if scope_path is None:
        return False
    return path.startswith(scope_path)


def kind_problem(kind: str, parent_kind: str | None) -> str | None:
    if parent_kind is None:
        return None if kind == "utility" else "Only a utility can stand at the top of the organisation."
    expected = CHILD_KIND.get(parent_kind)
    if expected is None:
        return f"A {parent_kind} cannot have units below it."
    if kind != expected:
        return f"Below a {parent_kind} comes a {expected}, not a {kind}."
    return None
