"""Agenda benchmark (issue 11): 1,000 SMEs × 100 owners, 5,000 requests, 16 slots, 18 variants.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/agenda.py [--runs 3] [--seeds 1 2 3]

Each variant: a seed × every participant missing each slot with probability 0, 0.25 or 0.5 (at
least one slot kept) × tables unlimited or 60 per slot. SMEs may take 2–8 meetings (uniform);
owners 16, i.e. every slot. Requests are distinct SME–owner pairs; owners are picked with a
Zipf-like popularity (a few owners are wanted by many SMEs) and weights are uniform in
[0.5, 10] with two decimals. Everything is timed in-process after imports; each time is the
median of ``--runs`` runs. Per variant it prints the LP solver (time, total, bound, gap, optimal,
validity), flow + König and an independent networkx min-cost-flow optimum where everyone is
available, the solver-free fallback (gap to the LP bound, time) and greedy (gap to the LP bound).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matching.agenda import Instance, Participant, Request, check, solve  # noqa: E402

N_SME, N_OWNER, N_REQUESTS, N_SLOTS, TABLES = 1000, 100, 5000, 16, 60


def make_instance(seed: int, missing: float, tables: int | None) -> Instance:
    rng = random.Random(seed)
    slots = tuple(f"s{i + 1:02d}" for i in range(N_SLOTS))
    smes = [f"sme{i:04d}" for i in range(N_SME)]
    owners = [f"own{i:03d}" for i in range(N_OWNER)]
    people = []
    for pid in smes + owners:
        limit = rng.randint(2, 8) if pid.startswith("sme") else N_SLOTS
        available = None
        if missing > 0:
            kept = tuple(s for s in slots if rng.random() >= missing) or (rng.choice(slots),)
            available = kept
        people.append(Participant(pid, available, limit))
    popularity = [1 / (i + 1) ** 0.6 for i in range(N_OWNER)]
    pairs: set[tuple[str, str]] = set()
    while len(pairs) < N_REQUESTS:
        pairs.add((rng.choice(smes), rng.choices(owners, popularity)[0]))
    requests = tuple(
        Request(f"r{i}", a, b, round(rng.uniform(0.5, 10), 2)) for i, (a, b) in enumerate(sorted(pairs))
    )
    return Instance(slots, tuple(people), requests, tables)


def networkx_optimum(instance: Instance) -> float:
    """Independent check: max-weight b-matching as a min-cost flow in networkx (integer costs)."""
    import networkx as nx

    n = len(instance.slots)
    cap = {p.id: min(n, p.max_meetings if p.max_meetings is not None else n) for p in instance.participants}
    g = nx.DiGraph()
    owners = {r.b for r in instance.requests}
    smes = {r.a for r in instance.requests}
    k = sum(cap[s] for s in smes)
    if instance.tables is not None:
        k = min(k, instance.tables * n)
    g.add_node("S", demand=-k)
    g.add_node("T", demand=k)
    g.add_edge("S", "T", capacity=k, weight=0)
    for s in smes:
        g.add_edge("S", s, capacity=cap[s], weight=0)
    for o in owners:
        g.add_edge(o, "T", capacity=cap[o], weight=0)
    for r in instance.requests:
        g.add_edge(r.a, r.b, capacity=1, weight=-round(r.weight * 100))
    cost = nx.min_cost_flow_cost(g)
    return -cost / 100


CPU: dict[str, list[float]] = {}


def timed(fn, runs: int, label: str = ""):
    """(result, median wall seconds); the median CPU seconds of the process go to CPU[label]."""
    times, cpu, result = [], [], None
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    if label:
        CPU.setdefault(label, []).append(statistics.median(cpu))
    return result, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    warm = make_instance(0, 0.0, None)  # imports and first-call set-up happen outside the timings
    for solver in ("flow", "lp", "fallback", "greedy"):
        solve(warm, solver)
    head = (
        f"{'variant':<22} {'lp s':>6} {'total':>10} {'bound':>10} {'gap':>8} {'opt':>4} {'ok':>3}"
        f" | {'flow s':>6} {'flow=opt':>8} {'indep':>10} {'indep s':>7}"
        f" | {'fb s':>5} {'fb gap':>7} {'fb own gap':>10} | {'greedy':>10} {'gr gap':>7} {'gr s':>5}"
    )
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(head)
    for missing in (0.0, 0.25, 0.5):
        for tables in (None, TABLES):
            for seed in args.seeds:
                inst = make_instance(seed, missing, tables)
                lp, lp_s = timed(lambda inst=inst: solve(inst, "lp"), args.runs, "lp")
                ok = not check(inst, lp.meetings)
                flow_cols = f"{'-':>6} {'-':>8} {'-':>10} {'-':>7}"
                if missing == 0:
                    fl, fl_s = timed(lambda inst=inst: solve(inst, "flow"), args.runs, "flow")
                    ok = ok and not check(inst, fl.meetings)
                    nx_opt, nx_s = timed(lambda inst=inst: networkx_optimum(inst), 1)
                    same = abs(fl.total_weight - nx_opt) < 1e-6 and abs(lp.total_weight - nx_opt) < 1e-6
                    flow_cols = f"{fl_s:6.3f} {str(same):>8} {nx_opt:10.2f} {nx_s:7.2f}"
                fb, fb_s = timed(lambda inst=inst: solve(inst, "fallback"), args.runs, "fallback")
                gr, gr_s = timed(lambda inst=inst: solve(inst, "greedy"), args.runs)
                ok = ok and not check(inst, fb.meetings) and not check(inst, gr.meetings)
                fb_gap = max(0.0, (lp.bound - fb.total_weight) / lp.bound)
                gr_gap = (lp.bound - gr.total_weight) / lp.bound
                name = f"seed {seed} miss {missing:.2f} " + ("t=∞" if tables is None else f"t={tables}")
                print(
                    f"{name:<22} {lp_s:6.3f} {lp.total_weight:10.2f} {lp.bound:10.2f}"
                    f" {lp.gap:8.4%} {'yes' if lp.optimal else 'no':>4} {'yes' if ok else 'NO':>3}"
                    f" | {flow_cols}"
                    f" | {fb_s:5.3f} {fb_gap:7.3%} {fb.gap:10.3%} | {gr.total_weight:10.2f} {gr_gap:7.3%} {gr_s:5.3f}",
                    flush=True,
                )
    for label, values in CPU.items():
        print(f"{label}: CPU seconds per variant, median of runs: max {max(values):.3f}, "
              f"median {statistics.median(values):.3f}")


if __name__ == "__main__":
    main()
