"""Meeting agendas (issue 11; CONTRACT.md "Agenda"): validity, optimality, bad input, the CLI."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching._flow import balance, konig_colouring
from matching._heuristics import _assignment
from matching.agenda import (
    Instance,
    InstanceError,
    Meeting,
    Participant,
    Request,
    _problem,
    check,
    parse_instance,
    solve,
)

ROOT = Path(__file__).resolve().parents[2]
SOLVERS = ("auto", "lp", "fallback", "greedy")


@st.composite
def instances(draw, *, bipartite=None, all_available=False, max_people=7, max_requests=6):
    n_slots = draw(st.integers(1, 3))
    slots = tuple(f"s{i}" for i in range(n_slots))
    n = draw(st.integers(2, max_people))
    people = []
    for i in range(n):
        if all_available:
            available = draw(st.sampled_from([None, slots]))
        else:
            available = draw(
                st.none() | st.lists(st.sampled_from(slots), min_size=1, unique=True).map(tuple)
            )
        limit = draw(st.none() | st.integers(0, 3))
        people.append(Participant(f"p{i}", available, limit))
    if bipartite is None:
        bipartite = draw(st.booleans())
    if bipartite:
        cut = draw(st.integers(1, n - 1))
        pairs = [(i, j) for i in range(cut) for j in range(cut, n)]
    else:
        pairs = list(itertools.combinations(range(n), 2))
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=max_requests))
    requests = tuple(
        Request(f"r{k}", f"p{i}", f"p{j}", float(draw(st.integers(0, 20))))
        for k, (i, j) in enumerate(chosen)
    )
    tables = draw(st.none() | st.integers(1, 3))
    return Instance(slots, tuple(people), requests, tables)


def brute_force(inst: Instance) -> float:
    """The optimum by trying every slot (or none) for every request."""
    p, _ = _problem(inst)
    best = 0.0
    for choice in itertools.product(range(-1, len(inst.slots)), repeat=len(inst.requests)):
        placed = {r: s for r, s in enumerate(choice) if s >= 0}
        if not p.problems(placed):
            best = max(best, sum(p.w[r] for r in placed))
    return best


def networkx_b_matching(inst: Instance) -> float:
    """Independent optimum for all-available bipartite instances: min-cost flow in networkx."""
    n = len(inst.slots)
    cap = {p.id: n if p.max_meetings is None else min(n, p.max_meetings) for p in inst.participants}
    g = nx.Graph()
    for r in inst.requests:
        g.add_edge(r.a, r.b)
    left = {v for v, side in nx.bipartite.color(g).items() if side == 0}
    d = nx.DiGraph()
    supply = sum(cap[v] for v in left)
    if inst.tables is not None:
        supply = min(supply, inst.tables * n)
    d.add_node("S", demand=-supply)
    d.add_node("T", demand=supply)
    d.add_edge("S", "T", capacity=supply, weight=0)
    for v in g.nodes:
        if v in left:
            d.add_edge("S", ("v", v), capacity=cap[v], weight=0)
        else:
            d.add_edge(("v", v), "T", capacity=cap[v], weight=0)
    for r in inst.requests:
        a, b = (r.a, r.b) if r.a in left else (r.b, r.a)
        d.add_edge(("v", a), ("v", b), capacity=1, weight=-int(r.weight))
    return -float(nx.min_cost_flow_cost(d)) if supply else 0.0


def assert_sound(inst, agenda):
    assert check(inst, agenda.meetings) == []
    weights = {r.id: r.weight for r in inst.requests}
    assert agenda.total_weight == pytest.approx(sum(weights[m.request] for m in agenda.meetings))
    assert agenda.total_weight <= agenda.bound + 1e-9
    if agenda.optimal:
        assert agenda.total_weight == pytest.approx(agenda.bound)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_every_solver_gives_a_valid_agenda_under_a_true_bound(inst):
    optimum = brute_force(inst)
    for solver in SOLVERS:
        agenda = solve(inst, solver)
        assert_sound(inst, agenda)
        assert agenda.total_weight <= optimum + 1e-9
        assert agenda.bound >= optimum - 1e-9, solver
        if agenda.optimal:
            assert agenda.total_weight == pytest.approx(optimum)
    # flow + König is exact whenever it applies
    auto = solve(inst, "auto")
    if auto.method == "flow":
        assert auto.optimal and auto.total_weight == pytest.approx(optimum)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(bipartite=True, all_available=True, max_people=24, max_requests=60))
def test_all_available_bipartite_equals_networkx_min_cost_flow(inst):
    expected = networkx_b_matching(inst)
    flow = solve(inst, "flow")
    assert_sound(inst, flow)
    assert flow.optimal and flow.total_weight == pytest.approx(expected)
    lp = solve(inst, "lp")
    assert_sound(inst, lp)
    assert lp.bound >= expected - 1e-9
    if lp.optimal:
        assert lp.total_weight == pytest.approx(expected)


def test_auto_uses_flow_when_everyone_is_available_and_sides_are_two():
    inst = parse_instance(
        {
            "slots": ["s1", "s2"],
            "participants": [{"id": "sme1"}, {"id": "sme2"}, {"id": "own1"}],
            "requests": [
                {"id": "r1", "a": "sme1", "b": "own1", "weight": 3},
                {"id": "r2", "a": "sme2", "b": "own1", "weight": 2},
            ],
        }
    )
    agenda = solve(inst)
    assert agenda.method == "flow"
    assert {m.request for m in agenda.meetings} == {"r1", "r2"}
    assert agenda.total_weight == 5 and agenda.optimal and agenda.bound == 5


def test_fractional_lp_is_rounded_and_reports_the_gap():
    # a triangle in one slot: the LP takes every meeting by half (value 1.55), one meeting fits
    inst = parse_instance(
        {
            "slots": ["s1"],
            "participants": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
            "requests": [
                {"id": "r1", "a": "a", "b": "b", "weight": 1.0},
                {"id": "r2", "a": "b", "b": "c", "weight": 1.0},
                {"id": "r3", "a": "a", "b": "c", "weight": 1.1},
            ],
        }
    )
    agenda = solve(inst)
    assert agenda.method == "lp"
    assert [m.request for m in agenda.meetings] == ["r3"]
    assert agenda.total_weight == pytest.approx(1.1)
    assert not agenda.optimal
    assert agenda.bound == pytest.approx(1.5)  # 1.55 rounded down to the weights' 0.1 grid
    assert agenda.gap == pytest.approx(0.4 / 1.5)


def test_integer_weights_turn_a_fractional_lp_into_a_proof():
    inst = parse_instance(
        {
            "slots": ["s1"],
            "participants": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
            "requests": [
                {"id": "r1", "a": "a", "b": "b", "weight": 1},
                {"id": "r2", "a": "b", "b": "c", "weight": 1},
                {"id": "r3", "a": "a", "b": "c", "weight": 1},
            ],
        }
    )
    agenda = solve(inst, "lp")
    assert agenda.total_weight == 1 and agenda.bound == 1 and agenda.optimal


def test_tables_spread_meetings_over_slots():
    # 4 disjoint pairs, 2 slots, 2 tables: all four meet, two per slot
    people = [{"id": f"p{i}"} for i in range(8)]
    requests = [{"id": f"r{i}", "a": f"p{2 * i}", "b": f"p{2 * i + 1}", "weight": 1} for i in range(4)]
    inst = parse_instance({"slots": ["s1", "s2"], "participants": people, "requests": requests, "tables": 2})
    for solver in ("flow", "lp", "fallback", "greedy"):
        agenda = solve(inst, solver)
        assert len(agenda.meetings) == 4, solver
        assert sorted(m.slot for m in agenda.meetings) == ["s1", "s1", "s2", "s2"]


def test_availability_is_respected_and_limits_hold():
    inst = parse_instance(
        {
            "slots": ["s1", "s2", "s3"],
            "participants": [
                {"id": "x", "available": ["s2"]},
                {"id": "y", "max_meetings": 1},
                {"id": "z"},
            ],
            "requests": [
                {"id": "r1", "a": "x", "b": "y", "weight": 5},
                {"id": "r2", "a": "z", "b": "y", "weight": 4},
                {"id": "r3", "a": "x", "b": "z", "weight": 2},
            ],
        }
    )
    # y meets once: r2 with z (4) plus r3 (2, x only in s2) beats r1 alone (5)
    agenda = solve(inst)
    slots = {m.request: m.slot for m in agenda.meetings}
    assert set(slots) == {"r2", "r3"} and slots["r3"] == "s2" and slots["r2"] != "s2"
    assert agenda.total_weight == 6 and agenda.optimal
    assert check(inst, agenda.meetings) == []


def test_konig_colouring_is_proper_and_uses_max_degree_colours():
    # K3,3 has degree 3 and needs all three colours; every vertex sees each colour once
    edges = [(u, v) for u in range(3) for v in range(3, 6)]
    colour = konig_colouring(edges, 6, 3)
    for x in range(6):
        seen = [colour[e] for e, (u, v) in enumerate(edges) if x in (u, v)]
        assert sorted(seen) == [0, 1, 2]


def test_balance_evens_out_colour_classes():
    # a star's edges all differ in colour; a separate path 6-7-8-9 coloured 0,1,0 then balancing
    edges = [(0, 1), (0, 2), (3, 4), (5, 6), (7, 8)]
    colour = [0, 1, 0, 0, 0]
    balance(edges, colour, 9, 3)
    sizes = [colour.count(c) for c in range(3)]
    assert max(sizes) - min(sizes) <= 1
    for x in range(9):
        seen = [colour[e] for e, (u, v) in enumerate(edges) if x in (u, v)]
        assert len(seen) == len(set(seen))


def test_check_reports_broken_rules():
    inst = parse_instance(
        {
            "slots": ["s1", "s2"],
            "participants": [{"id": "a", "available": ["s1"]}, {"id": "b"}, {"id": "c"}],
            "requests": [
                {"id": "r1", "a": "a", "b": "b", "weight": 1},
                {"id": "r2", "a": "b", "b": "c", "weight": 1},
            ],
            "tables": 1,
        }
    )
    assert check(inst, [Meeting("r1", "s2")]) != []  # a is not available in s2
    assert check(inst, [Meeting("r1", "s1"), Meeting("r2", "s1")]) != []  # b twice, 2 tables
    assert check(inst, [Meeting("r9", "s1")]) == ["request r9: no such request"]
    assert check(inst, [Meeting("r1", "s1"), Meeting("r2", "s2")]) == []


BASE = {
    "slots": ["s1", "s2"],
    "participants": [{"id": "x"}, {"id": "y"}, {"id": "z", "available": ["s1"], "max_meetings": 1}],
    "requests": [{"id": "r1", "a": "x", "b": "y", "weight": 3.0}],
}


def variant(**changes):
    data = json.loads(json.dumps(BASE))
    for key, value in changes.items():
        if key == "extra_requests":
            data["requests"] += value
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (variant(slots=[]), "slots: the event has no slots"),
        (variant(slots=["s1", "s1"]), "slots: duplicate slot s1"),
        (
            variant(extra_requests=[{"id": "r7", "a": "x", "b": "w", "weight": 1}]),
            "request r7: unknown participant w",
        ),
        (
            variant(extra_requests=[{"id": "r1", "a": "x", "b": "z", "weight": 1}]),
            "request r1: duplicate request id",
        ),
        (
            variant(extra_requests=[{"id": "r7", "a": "x", "b": "z", "weight": -2}]),
            "request r7: negative weight -2",
        ),
        (
            variant(extra_requests=[{"id": "r7", "a": "x", "b": "x", "weight": 1}]),
            "request r7: a request to oneself (x)",
        ),
        (
            variant(extra_requests=[{"id": "r7", "a": "y", "b": "x", "weight": 1}]),
            "request r7: duplicates request r1 (y–x)",
        ),
        (
            variant(extra_requests=[{"id": "r7", "a": "x", "b": "z", "weight": "high"}]),
            "request r7: weight must be a number",
        ),
        (
            variant(participants=[{"id": "x"}, {"id": "y", "available": []}]),
            "participant y: available in no slot but has requests r1",
        ),
        (
            variant(participants=[{"id": "x"}, {"id": "y", "available": ["s9"]}]),
            "participant y: unknown slot s9",
        ),
        (
            variant(participants=[{"id": "x"}, {"id": "y"}, {"id": "x"}]),
            "participant x: duplicate participant id",
        ),
        (
            variant(participants=[{"id": "x", "max_meetings": -1}, {"id": "y"}]),
            "participant x: max_meetings must not be negative",
        ),
        (variant(tables=0), "tables: must be at least 1, got 0"),
        (variant(rooms=3), "instance: unknown field rooms"),
        ([], "instance: expected a JSON object"),
    ],
)
def test_bad_input_is_named(data, message):
    with pytest.raises(InstanceError) as err:
        parse_instance(data)
    assert message in err.value.messages


def test_every_problem_is_reported_at_once():
    data = variant(
        extra_requests=[
            {"id": "r7", "a": "x", "b": "x", "weight": 1},
            {"id": "r8", "a": "q", "b": "y", "weight": -1},
        ]
    )
    with pytest.raises(InstanceError) as err:
        parse_instance(data)
    assert err.value.messages == [
        "request r7: a request to oneself (x)",
        "request r8: unknown participant q",
        "request r8: negative weight -1",
    ]


def test_flow_refuses_instances_it_cannot_solve_exactly():
    inst = parse_instance(variant(participants=[{"id": "x", "available": ["s1"]}, {"id": "y"}]))
    with pytest.raises(ValueError, match="flow solver needs"):
        solve(inst, "flow")


def run_cli(tmp_path, data, *args):
    path = tmp_path / "instance.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "matching.agenda", str(path), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_cli_prints_the_contract_shape(tmp_path):
    data = {
        "slots": ["s1", "s2", "s3"],
        "participants": [
            {"id": "x", "available": ["s1", "s2", "s3"], "max_meetings": 8},
            {"id": "y"},
            {"id": "z"},
        ],
        "requests": [
            {"id": "r1", "a": "x", "b": "y", "weight": 3.0},
            {"id": "r2", "a": "x", "b": "z", "weight": 2.5},
            {"id": "r3", "a": "y", "b": "z", "weight": 1.0},
        ],
        "tables": 50,
    }
    done = run_cli(tmp_path, data)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert list(out) == ["meetings", "total_weight", "optimal", "bound"]
    assert out["total_weight"] == 6.5 and out["optimal"] is True and out["bound"] == 6.5
    assert sorted(m["request"] for m in out["meetings"]) == ["r1", "r2", "r3"]
    assert all(set(m) == {"request", "slot"} for m in out["meetings"])
    inst = parse_instance(data)
    assert check(inst, [Meeting(m["request"], m["slot"]) for m in out["meetings"]]) == []


def test_cli_reports_a_gap_when_the_lp_is_fractional(tmp_path):
    # a triangle needs three slots; in two, the LP takes every meeting by half (6.5)
    data = {
        "slots": ["s1", "s2"],
        "participants": [{"id": "x"}, {"id": "y"}, {"id": "z"}],
        "requests": [
            {"id": "r1", "a": "x", "b": "y", "weight": 3.0},
            {"id": "r2", "a": "x", "b": "z", "weight": 2.5},
            {"id": "r3", "a": "y", "b": "z", "weight": 1.0},
        ],
    }
    done = run_cli(tmp_path, data)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["total_weight"] == 5.5 and out["optimal"] is False and out["bound"] == 6.5


def test_cli_bad_input_exits_2_with_messages(tmp_path):
    data = variant(extra_requests=[{"id": "r7", "a": "x", "b": "x", "weight": 1}])
    done = run_cli(tmp_path, data)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["request r7: a request to oneself (x)"]


def test_cli_bad_json_exits_2(tmp_path):
    done = run_cli(tmp_path, "{not json")
    assert done.returncode == 2
    assert "not valid JSON" in done.stderr


def test_cli_solver_choice(tmp_path):
    done = run_cli(tmp_path, BASE, "--solver", "greedy")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total_weight"] == 3.0


def test_matching_imports_neither_flask_nor_the_database_nor_market():
    code = (
        "import sys, matching, matching.agenda, matching.scoring\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'market', 'models')]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda n: st.lists(
            st.lists(st.none() | st.integers(0, 9).map(float), min_size=5, max_size=5),
            min_size=n,
            max_size=n,
        )
    ),
    st.integers(0, 5),
)
def test_assignment_is_exact(score, n_cols):
    """The Hungarian step of the fallback's ``reassign`` against brute force."""
    score = [row[:n_cols] for row in score]
    choice = _assignment(score, n_cols)
    used = [c for c in choice if c is not None]
    assert len(used) == len(set(used))
    assert all(score[i][c] is not None for i, c in enumerate(choice) if c is not None)
    got = sum(score[i][c] for i, c in enumerate(choice) if c is not None)
    best = 0.0
    options = [None, *range(n_cols)]
    for combo in itertools.product(options, repeat=len(score)):
        cols = [c for c in combo if c is not None]
        if len(cols) == len(set(cols)) and all(score[i][c] is not None for i, c in enumerate(combo) if c is not None):
            best = max(best, sum(score[i][c] for i, c in enumerate(combo) if c is not None))
    assert got == best


def test_auto_falls_back_without_ortools():
    code = (
        "import sys, json\n"
        "sys.modules['ortools'] = None\n"
        "from matching.agenda import parse_instance, solve\n"
        "a = solve(parse_instance(json.loads(sys.argv[1])))\n"
        "assert 'ortools' not in {m.split('.')[0] for m in sys.modules if sys.modules[m]}\n"
        "print(a.method, a.total_weight, a.optimal)\n"
    )
    data = {
        "slots": ["s1", "s2"],
        "participants": [{"id": "x"}, {"id": "y", "available": ["s2"]}, {"id": "z"}],
        "requests": [
            {"id": "r1", "a": "x", "b": "y", "weight": 3},
            {"id": "r2", "a": "x", "b": "z", "weight": 2},
        ],
    }
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(data)], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["fallback", "5.0", "True"]
