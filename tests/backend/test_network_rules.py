"""Pure network rules: node kinds under parents, paths, coordinates, codes."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from backend.domain.network.rules import (
    NODE_KINDS,
    PARENT_KIND,
    child_path,
    code_problem,
    coordinates_problem,
    node_kind_problem,
    normalise_code,
    phases_problem,
)

parents = st.sampled_from([None, *NODE_KINDS])


@given(st.sampled_from(NODE_KINDS), parents)
def test_a_node_fits_only_under_its_one_parent_kind(kind: str, parent: str | None) -> None:
    problem = node_kind_problem(kind, parent)
    assert (problem is None) == (PARENT_KIND[kind] == parent)
    if problem:
        assert kind in problem


def test_the_tree_is_substation_feeder_transformer() -> None:
    assert node_kind_problem("substation", None) is None
    assert node_kind_problem("feeder", "substation") is None
    assert node_kind_problem("transformer", "feeder") is None
    assert (
        node_kind_problem("transformer", "substation")
        == "A transformer goes under a feeder, not under a substation."
    )
    assert node_kind_problem("feeder", None) == "A feeder must be placed under a substation."
    assert "Unknown" in (node_kind_problem("pole", None) or "")


@given(st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=6))
def test_paths_nest(ids: list[int]) -> None:
    path: str | None = None
    for node_id in ids:
        new = child_path(path, node_id)
        assert new.startswith(path or "/") and new.endswith(f"/{node_id}/")
        path = new
    assert path == "/" + "/".join(map(str, ids)) + "/"


@given(
    st.decimals(min_value=-200, max_value=200, places=6, allow_nan=False),
    st.decimals(min_value=-200, max_value=200, places=6, allow_nan=False),
)
def test_coordinates_in_range_only(lat: Decimal, lon: Decimal) -> None:
    ok = -90 <= lat <= 90 and -180 <= lon <= 180
    assert (coordinates_problem(lat, lon) is None) == ok


def test_coordinates_come_in_pairs() -> None:
    assert coordinates_problem(None, None) is None
    assert coordinates_problem(Decimal("-1.3"), None) == "Give both latitude and longitude, or neither."


@given(st.text(max_size=40))
def test_codes_are_normalised_then_checked(raw: str) -> None:
    code = normalise_code(raw)
    problem = code_problem(code)
    if problem is None:
        assert code == code.upper().strip() and 1 <= len(code) <= 32


@given(st.integers(min_value=-5, max_value=10))
def test_phases(n: int) -> None:
    assert (phases_problem(n) is None) == (n in (1, 3))
