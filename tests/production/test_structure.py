"""The Django-free product structure: no database here."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from kanat.production.structure import (
    CycleError,
    Line,
    compare,
    explode,
    find_cycle,
    flatten,
    revision_label,
)


def line(find: int, child: str, qty: str, uom: str = "ea", ref: str = "") -> Line:
    return Line(find_number=find, child=child, quantity=D(qty), uom=uom, ref_des=ref)


# a SATCOM terminal: 1 antenna assembly (2 reflector panels with 12 rivets and 0.05 kg of
# adhesive each, 1 feed), 4 rivets at the top level too, 2 cable harnesses (3 connectors each)
TERMINAL = {
    "TERM": [
        line(10, "ANT", "1"),
        line(20, "HARN", "2"),
        line(30, "RIVET", "4"),
    ],
    "ANT": [line(10, "PANEL", "2"), line(20, "FEED", "1")],
    "PANEL": [line(10, "RIVET", "12"), line(20, "ADHESIVE", "0.05", "kg")],
    "HARN": [line(10, "CONN", "3")],
}


def test_explode_multiplies_quantities_down_the_levels():
    rows = explode("TERM", TERMINAL)
    by_path = {r.path: r for r in rows}
    assert [(r.level, r.child) for r in rows] == [
        (1, "ANT"),
        (2, "PANEL"),
        (3, "RIVET"),
        (3, "ADHESIVE"),
        (2, "FEED"),
        (1, "HARN"),
        (2, "CONN"),
        (1, "RIVET"),
    ]
    assert by_path[("TERM", "ANT", "PANEL", "RIVET")].extended == D(24)
    assert by_path[("TERM", "ANT", "PANEL", "RIVET")].quantity_per == D(12)
    assert by_path[("TERM", "ANT", "PANEL", "ADHESIVE")].extended == D("0.10")
    assert by_path[("TERM", "HARN", "CONN")].extended == D(6)
    assert by_path[("TERM", "ANT")].is_assembly and not by_path[("TERM", "RIVET")].is_assembly


def test_explode_for_a_quantity_and_flatten_sums_every_occurrence():
    rows = explode("TERM", TERMINAL, quantity=D(3))
    totals = flatten(rows)
    # rivets: 3 × (1 × 2 × 12 + 4) = 84, summed over both places they are used
    assert totals["RIVET"] == D(84)
    assert totals["ADHESIVE"] == D("0.30")  # exact: Decimal, not 0.30000000000000004
    assert totals["PANEL"] == D(6)
    assert flatten(rows, leaves_only=True) == {
        "ADHESIVE": D("0.30"),
        "CONN": D(18),
        "FEED": D(3),
        "RIVET": D(84),
    }


def test_a_part_with_no_lines_explodes_to_nothing():
    assert explode("RIVET", TERMINAL) == []


def test_cycles_are_found_at_any_depth_and_refused_by_explode():
    assert find_cycle("TERM", TERMINAL) is None
    looped = dict(TERMINAL) | {"CONN": [line(10, "ANT", "1")]}
    # TERM > HARN > CONN > ANT is fine until ANT reaches back... it does not: no cycle
    assert find_cycle("TERM", looped) is None
    looped["FEED"] = [line(10, "TERM", "1")]
    assert find_cycle("TERM", looped) == ["TERM", "ANT", "FEED", "TERM"]
    with pytest.raises(CycleError, match="TERM > ANT > FEED > TERM"):
        explode("TERM", looped)
    assert find_cycle("SELF", {"SELF": [line(10, "SELF", "1")]}) == ["SELF", "SELF"]
    # a cycle below the root, not through it
    assert find_cycle("TOP", {"TOP": [line(10, "X", "1")], "X": [line(10, "X", "1")]}) == [
        "X",
        "X",
    ]


def test_a_shared_sub_assembly_is_not_a_cycle():
    diamond = {
        "TOP": [line(10, "L", "1"), line(20, "R", "1")],
        "L": [line(10, "BASE", "2")],
        "R": [line(10, "BASE", "3")],
    }
    assert find_cycle("TOP", diamond) is None
    assert flatten(explode("TOP", diamond))["BASE"] == D(5)


def test_compare_lines_added_removed_and_changed():
    before = [line(10, "A", "1"), line(20, "B", "2", ref="J1"), line(30, "C", "1")]
    after = [
        line(10, "A", "1"),
        line(20, "B", "4", ref="J2"),
        line(30, "D", "1"),
        line(40, "E", "1"),
    ]
    diff = compare(before, after)
    assert [(x.find_number, x.child) for x in diff.added] == [(30, "D"), (40, "E")]
    assert [(x.find_number, x.child) for x in diff.removed] == [(30, "C")]
    assert [(c.find_number, c.child, c.fields) for c in diff.changed] == [
        (20, "B", ("quantity", "ref_des"))
    ]
    assert diff.changed[0].before.quantity == D(2) and diff.changed[0].after.quantity == D(4)
    assert not diff.same and compare(before, before).same


def test_revision_letters_skip_the_confusable_ones():
    assert [revision_label(n) for n in (1, 8, 9, 12, 20, 21)] == ["A", "H", "J", "M", "Y", "AA"]
    with pytest.raises(ValueError):
        revision_label(0)
