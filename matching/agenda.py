"""Optimal 1:1 meeting agendas for matchmaking events (issue 11; CONTRACT.md "Agenda").

Given meeting requests with weights, time slots, each participant's availability and meeting
limit, and tables per slot, choose and place meetings so that no one is in two meetings at once,
everyone meets only in slots they attend and at most ``max_meetings`` times, no slot holds more
than ``tables`` meetings, and the total weight is as large as possible.

Solvers (``solve(instance, solver=...)``):

* ``"flow"`` — exact when everyone with a request shares one availability and the request graph is
  bipartite (SMEs ↔ owners): maximum-weight b-matching by OR-Tools min-cost flow, then a König
  edge colouring into slots (balanced across slots when tables are limited). Polynomial:
  min-cost flow on P + 2 nodes and R + P + 1 arcs, colouring O(E·V).
* ``"lp"`` — any instance: the time-indexed LP solved with OR-Tools GLOP. An integral LP optimum
  is an optimal agenda (``optimal: true``); a fractional one is rounded and repaired and reported
  with its gap to the LP bound. Simplex: no polynomial guarantee, measured in BENCHMARKS.md.
* ``"fallback"`` — no LP solver: greedy (two orders), each participant's meetings re-chosen by
  an exact assignment, then local improvement until a deadline; the bound is a Lagrangian dual
  bound computed with numpy (valid, usually a little looser than the LP's).
* ``"greedy"`` — the baseline event tools use: by weight, first feasible slot.
* ``"auto"`` (default) — ``flow`` where it applies, else ``lp``; ``fallback`` if OR-Tools cannot
  be imported.

``python -m matching.agenda INSTANCE.json [--solver NAME]`` prints the agenda as JSON; bad input
exits 2 with one ``request r7: ...`` style message per problem on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ._heuristics import (
    Placement,
    dual_bound,
    greedy,
    improve,
    reassign,
    simple_bound,
    slot_pressure,
)
from ._problem import EPS, Problem

SOLVERS = ("auto", "flow", "lp", "fallback", "greedy")


@dataclass(frozen=True)
class Participant:
    id: str
    available: tuple[str, ...] | None = None  # None = every slot
    max_meetings: int | None = None  # None = no limit


@dataclass(frozen=True)
class Request:
    id: str
    a: str
    b: str
    weight: float


@dataclass(frozen=True)
class Instance:
    slots: tuple[str, ...]
    participants: tuple[Participant, ...]
    requests: tuple[Request, ...]
    tables: int | None = None  # None = no limit


@dataclass(frozen=True)
class Meeting:
    request: str
    slot: str


@dataclass(frozen=True)
class Agenda:
    meetings: tuple[Meeting, ...]
    total_weight: float
    optimal: bool  # True only when total_weight equals the bound
    bound: float  # a proven upper bound on any agenda's total weight
    method: str = ""  # which solver produced it
    seconds: float = field(default=0.0, compare=False)

    @property
    def gap(self) -> float:
        """(bound − total) / bound; 0 when optimal."""
        return 0.0 if self.bound <= 0 else max(0.0, (self.bound - self.total_weight) / self.bound)

    def to_json(self) -> dict:
        """The CONTRACT.md shape."""
        return {
            "meetings": [{"request": m.request, "slot": m.slot} for m in self.meetings],
            "total_weight": _round(self.total_weight),
            "optimal": self.optimal,
            "bound": _round(self.bound),
        }


class InstanceError(ValueError):
    """Bad input; ``messages`` holds one ``request r7: ...`` style line per problem."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = list(messages)


def _round(x: float) -> float:
    return round(x, 9) + 0.0


# ---------------------------------------------------------------------------------------- input


def parse_instance(data: object) -> Instance:
    """Read the CONTRACT.md JSON shape into an ``Instance``; raises ``InstanceError``."""
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise InstanceError(["instance: expected a JSON object"])
    raw_slots = data.get("slots")
    if not isinstance(raw_slots, list) or not all(isinstance(s, str) for s in raw_slots):
        raise InstanceError(["slots: expected a list of slot ids"])
    participants = []
    raw_people = data.get("participants", [])
    if not isinstance(raw_people, list):
        raise InstanceError(["participants: expected a list"])
    for i, item in enumerate(raw_people):
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            errors.append(f"participant #{i + 1}: expected an object with a string id")
            continue
        pid = item["id"]
        available = item.get("available")
        if available is not None and (
            not isinstance(available, list) or not all(isinstance(s, str) for s in available)
        ):
            errors.append(f"participant {pid}: available: expected a list of slot ids")
            continue
        limit = item.get("max_meetings")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            errors.append(f"participant {pid}: max_meetings: expected a whole number")
            continue
        participants.append(
            Participant(pid, None if available is None else tuple(available), limit)
        )
    requests = []
    raw_requests = data.get("requests", [])
    if not isinstance(raw_requests, list):
        raise InstanceError(["requests: expected a list"])
    for i, item in enumerate(raw_requests):
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            errors.append(f"request #{i + 1}: expected an object with a string id")
            continue
        rid = item["id"]
        a, b, weight = item.get("a"), item.get("b"), item.get("weight")
        if not isinstance(a, str) or not isinstance(b, str):
            errors.append(f"request {rid}: a and b must be participant ids")
            continue
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            errors.append(f"request {rid}: weight must be a number")
            continue
        requests.append(Request(rid, a, b, float(weight)))
    tables = data.get("tables")
    if tables is not None and (isinstance(tables, bool) or not isinstance(tables, int)):
        errors.append("tables: expected a whole number")
        tables = None
    unknown = sorted(set(data) - {"slots", "participants", "requests", "tables"})
    if unknown:
        errors.append(f"instance: unknown field {', '.join(unknown)}")
    instance = Instance(tuple(raw_slots), tuple(participants), tuple(requests), tables)
    errors.extend(problems(instance))
    if errors:
        raise InstanceError(errors)
    return instance


def problems(instance: Instance) -> list[str]:
    """Every input problem of an instance, one message each (empty = fine). O(P·S + R)."""
    out: list[str] = []
    slots = set()
    if not instance.slots:
        out.append("slots: the event has no slots")
    for s in instance.slots:
        if s in slots:
            out.append(f"slots: duplicate slot {s}")
        slots.add(s)
    if instance.tables is not None and instance.tables < 1:
        out.append(f"tables: must be at least 1, got {instance.tables}")
    people: dict[str, Participant] = {}
    for person in instance.participants:
        if person.id in people:
            out.append(f"participant {person.id}: duplicate participant id")
        people[person.id] = person
        if person.max_meetings is not None and person.max_meetings < 0:
            out.append(f"participant {person.id}: max_meetings must not be negative")
        for s in person.available or ():
            if s not in slots:
                out.append(f"participant {person.id}: unknown slot {s}")
    seen_ids: set[str] = set()
    pairs: dict[frozenset[str], str] = {}
    has_requests: dict[str, list[str]] = {}
    for r in instance.requests:
        if r.id in seen_ids:
            out.append(f"request {r.id}: duplicate request id")
        seen_ids.add(r.id)
        for side in (r.a, r.b):
            if side not in people:
                out.append(f"request {r.id}: unknown participant {side}")
        if r.a == r.b:
            out.append(f"request {r.id}: a request to oneself ({r.a})")
        if not math.isfinite(r.weight):
            out.append(f"request {r.id}: weight must be a finite number")
        elif r.weight < 0:
            out.append(f"request {r.id}: negative weight {r.weight:g}")
        pair = frozenset((r.a, r.b))
        if r.a != r.b and pair in pairs:
            out.append(f"request {r.id}: duplicates request {pairs[pair]} ({r.a}–{r.b})")
        pairs.setdefault(pair, r.id)
        has_requests.setdefault(r.a, []).append(r.id)
        has_requests.setdefault(r.b, []).append(r.id)
    for pid, rids in has_requests.items():
        person = people.get(pid)
        if person is not None and person.available is not None and not person.available and slots:
            out.append(f"participant {pid}: available in no slot but has requests {', '.join(rids)}")
    return out


def _problem(instance: Instance) -> tuple[Problem, dict[str, int]]:
    slot_index = {s: i for i, s in enumerate(instance.slots)}
    person_index = {p.id: i for i, p in enumerate(instance.participants)}
    everything = (1 << len(instance.slots)) - 1
    avail, cap = [], []
    for person in instance.participants:
        mask = everything
        if person.available is not None:
            mask = 0
            for s in person.available:
                mask |= 1 << slot_index[s]
        avail.append(mask)
        n = mask.bit_count()
        cap.append(n if person.max_meetings is None else min(n, person.max_meetings))
    p = Problem(
        n_slots=len(instance.slots),
        n_people=len(instance.participants),
        ra=[person_index[r.a] for r in instance.requests],
        rb=[person_index[r.b] for r in instance.requests],
        w=[r.weight for r in instance.requests],
        avail=avail,
        cap=cap,
        tables=instance.tables,
    )
    return p, slot_index


# ------------------------------------------------------------------------------------- solving


def _ortools_available() -> bool:
    try:
        import ortools.graph.python.min_cost_flow  # noqa: F401
        import ortools.linear_solver.pywraplp  # noqa: F401
    except ImportError:
        return False
    return True


def solve(instance: Instance, solver: str = "auto", time_limit: float = 0.25) -> Agenda:
    """The best agenda the chosen solver finds (see the module docstring).

    ``time_limit`` (seconds) bounds the local improvement of ``fallback`` and of LP rounding.
    Raises ``InstanceError`` on bad input and ``ValueError`` for an unknown solver or ``flow`` on
    an instance it does not apply to.
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
    errors = problems(instance)
    if errors:
        raise InstanceError(errors)
    started = time.perf_counter()
    p, _ = _problem(instance)
    if solver == "auto":
        from . import _flow

        if not _ortools_available():
            solver = "fallback"
        elif _flow.applicable(p):
            solver = "flow"
        else:
            solver = "lp"
    if solver == "flow":
        from ._flow import applicable, solve_flow

        if not applicable(p):
            raise ValueError(
                "the flow solver needs one shared availability, a bipartite request graph and "
                "weights with at most 6 decimals"
            )
        placed = solve_flow(p)
        total = p.total(placed)
        return _agenda(instance, placed, total, total, True, "flow", started)
    if solver == "lp":
        return _solve_lp(instance, p, started, time_limit)
    if solver == "greedy":
        st = greedy(p)
        bound, _ = dual_bound(p, st.total)
    else:
        st, bound = _fallback(p, started + time_limit)
    bound = max(p.tidy_bound(min(simple_bound(p), bound)), st.total)
    optimal = st.total >= bound - EPS * max(1.0, abs(bound))
    return _agenda(instance, st.slot_of, st.total, bound, optimal, solver, started)


def _fallback(p: Problem, deadline: float) -> tuple[Placement, float]:
    """Greedy twice — by weight, and by Lagrangian reduced weight — each slot chosen where the two
    sides' other requests need it least; the better start then has each participant's meetings
    re-chosen by an exact assignment (``reassign``) and is improved until ``deadline``."""
    pressure = slot_pressure(p)
    plain = greedy(p, pressure=pressure)
    bound, reduced = dual_bound(p, plain.total)
    key = [w - 0.8 * (w - red) for w, red in zip(p.w, reduced, strict=True)]
    guided = greedy(p, sorted(range(p.n_requests), key=lambda r: -key[r]), pressure=pressure)
    st, priority = (guided, key) if guided.total > plain.total else (plain, None)
    for v in range(p.n_people):
        if time.perf_counter() > deadline:
            break
        reassign(st, v)
    st.journal.clear()
    improve(st, deadline=deadline, priority=priority)
    return st, bound


def _solve_lp(instance: Instance, p: Problem, started: float, time_limit: float) -> Agenda:
    from ._lp import solve_lp

    values, lp_value, integral = solve_lp(p)
    st = Placement(p)
    if integral:
        for (r, s), val in values.items():
            if val > 0.5:
                st.place(r, s)
        total = st.total
        if abs(total - lp_value) <= 1e-6 * max(1.0, abs(lp_value)):
            return _agenda(instance, st.slot_of, total, total, True, "lp", started)
    else:
        for r, s in sorted(values, key=lambda rs: (-values[rs], -p.w[rs[0]])):
            if r not in st.slot_of and st.free_slots(r) >> s & 1:
                st.place(r, s)
        improve(st, deadline=time.perf_counter() + time_limit)
    bound = max(p.tidy_bound(lp_value), st.total)
    optimal = st.total >= bound - EPS * max(1.0, abs(bound))
    return _agenda(instance, st.slot_of, st.total, bound, optimal, "lp", started)


def _agenda(
    instance: Instance,
    placed: Mapping[int, int],
    total: float,
    bound: float,
    optimal: bool,
    method: str,
    started: float,
) -> Agenda:
    meetings = tuple(
        Meeting(instance.requests[r].id, instance.slots[s])
        for r, s in sorted(placed.items(), key=lambda rs: (rs[1], rs[0]))
    )
    if optimal:
        bound = total
    return Agenda(meetings, total, optimal, bound, method, time.perf_counter() - started)


def check(instance: Instance, meetings: Iterable[Meeting]) -> list[str]:
    """Every rule an agenda breaks (empty = valid): unknown ids, double-booked participants,
    meetings outside availability, limits over max_meetings, slots over tables. O(M + P)."""
    p, slot_index = _problem(instance)
    request_index = {r.id: i for i, r in enumerate(instance.requests)}
    out = []
    placed: dict[int, int] = {}
    for m in meetings:
        if m.request not in request_index:
            out.append(f"request {m.request}: no such request")
        elif m.slot not in slot_index:
            out.append(f"request {m.request}: no such slot {m.slot}")
        elif request_index[m.request] in placed:
            out.append(f"request {m.request}: scheduled twice")
        else:
            placed[request_index[m.request]] = slot_index[m.slot]
    return out + p.problems(placed)


# ----------------------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m matching.agenda", description="Compute an optimal meeting agenda."
    )
    parser.add_argument("instance", help="instance JSON file (CONTRACT.md, Agenda)")
    parser.add_argument("--solver", choices=SOLVERS, default="auto")
    args = parser.parse_args(argv)
    try:
        with open(args.instance, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        print(f"{args.instance}: cannot read: {exc.strerror}", file=sys.stderr)
        return 2
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        print(f"{args.instance}: not valid JSON: {exc}", file=sys.stderr)
        return 2
    try:
        instance = parse_instance(data)
        agenda = solve(instance, args.solver)
    except InstanceError as exc:
        for message in exc.messages:
            print(message, file=sys.stderr)
        return 2
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    json.dump(agenda.to_json(), sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
