"""Exact agendas when everyone is available in the same slots and the request graph is bipartite.

1. A maximum-weight b-matching by min-cost flow (OR-Tools ``SimpleMinCostFlow``): source → side-A
   participant (capacity cap_v) → request arc (capacity 1, cost −weight) → side-B participant
   (capacity cap_v) → sink, plus a cost-0 bypass arc source → sink so that flow is not forced
   through unprofitable requests. With ``tables`` the source's supply is S·tables.
2. König: a bipartite multigraph of maximum degree Δ ≤ S has a proper edge colouring with S
   colours, found edge by edge with alternating (Kempe) paths in O(E·V).
3. With ``tables``: the colour classes are balanced (de Werra) by flipping alternating paths
   between the largest and the smallest class until sizes differ by at most one, so no class
   exceeds ceil(E/S) ≤ tables.

Every meeting set of the time-indexed problem is a b-matching of at most S·tables edges, and every
such b-matching is schedulable by 2–3, so the flow optimum is the agenda optimum: exact.
"""

from __future__ import annotations

from collections import deque

from ._problem import Problem, bits, weight_scale


def two_sides(p: Problem) -> list[int] | None:
    """Side 0/1 of each participant if the request graph is bipartite, else None. O(P + R)."""
    adj: list[list[int]] = [[] for _ in range(p.n_people)]
    for a, b in zip(p.ra, p.rb, strict=True):
        adj[a].append(b)
        adj[b].append(a)
    side = [-1] * p.n_people
    for start in range(p.n_people):
        if side[start] != -1:
            continue
        side[start] = 0
        queue = deque([start])
        while queue:
            u = queue.popleft()
            for v in adj[u]:
                if side[v] == -1:
                    side[v] = 1 - side[u]
                    queue.append(v)
                elif side[v] == side[u]:
                    return None
    return side


def shared_slots(p: Problem) -> int | None:
    """The one availability mask every participant with a request shares, or None."""
    masks = {p.avail[v] for v in set(p.ra) | set(p.rb)}
    if len(masks) > 1:
        return None
    return masks.pop() if masks else (1 << p.n_slots) - 1


def applicable(p: Problem) -> bool:
    return shared_slots(p) is not None and two_sides(p) is not None and weight_scale(p.w) is not None


def b_matching(p: Problem, side: list[int], limit: int | None) -> list[int]:
    """Indices of the requests of a maximum-weight b-matching of at most ``limit`` edges.

    OR-Tools min-cost flow on P + 2 nodes and P + R + 1 arcs (cost scaling, polynomial).
    """
    import numpy as np
    from ortools.graph.python import min_cost_flow

    scale = weight_scale(p.w)
    assert scale is not None
    P = p.n_people
    src, snk = P, P + 1
    left = [v for v in range(P) if side[v] == 0 and p.cap[v] > 0]
    right = [v for v in range(P) if side[v] == 1 and p.cap[v] > 0]
    supply = min(sum(p.cap[v] for v in left), sum(p.cap[v] for v in right))
    if limit is not None:
        supply = min(supply, limit)
    useful = [r for r in range(p.n_requests) if p.w[r] > 0 and p.cap[p.ra[r]] > 0 and p.cap[p.rb[r]] > 0]
    if supply <= 0 or not useful:
        return []
    tails, heads, caps, costs = [], [], [], []
    for v in left:
        tails.append(src), heads.append(v), caps.append(p.cap[v]), costs.append(0)
    for v in right:
        tails.append(v), heads.append(snk), caps.append(p.cap[v]), costs.append(0)
    first_request_arc = len(tails)
    for r in useful:
        a, b = p.ra[r], p.rb[r]
        if side[a] == 1:
            a, b = b, a
        tails.append(a), heads.append(b), caps.append(1), costs.append(-round(p.w[r] * scale))
    tails.append(src), heads.append(snk), caps.append(supply), costs.append(0)
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.asarray(tails, dtype=np.int32),
        np.asarray(heads, dtype=np.int32),
        np.asarray(caps, dtype=np.int64),
        np.asarray(costs, dtype=np.int64),
    )
    smcf.set_node_supply(src, supply)
    smcf.set_node_supply(snk, -supply)
    status = smcf.solve()
    if status != smcf.OPTIMAL:  # pragma: no cover - a feasible network with a bypass arc
        raise RuntimeError(f"min-cost flow failed: {status}")
    flows = smcf.flows(np.arange(first_request_arc, first_request_arc + len(useful)))
    return [r for r, f in zip(useful, flows, strict=True) if f > 0]


def konig_colouring(edges: list[tuple[int, int]], n_nodes: int, n_colours: int) -> list[int]:
    """A proper edge colouring of a bipartite multigraph with max degree ≤ n_colours. O(E·V).

    Each edge (u, v) takes a colour a free at u; if a is busy at v, the a/b alternating path from
    v (b free at v) is flipped first — it cannot reach u in a bipartite graph.
    """
    at = [[-1] * n_colours for _ in range(n_nodes)]
    colour = [-1] * len(edges)
    for e, (u, v) in enumerate(edges):
        a = at[u].index(-1)
        b = at[v].index(-1)
        if at[v][a] != -1:
            path, x, c = [], v, a
            while at[x][c] != -1:
                e2 = at[x][c]
                path.append(e2)
                p2, q2 = edges[e2]
                x = q2 if x == p2 else p2
                c = b if c == a else a
            for e2 in path:
                p2, q2 = edges[e2]
                at[p2][colour[e2]] = -1
                at[q2][colour[e2]] = -1
            for e2 in path:
                p2, q2 = edges[e2]
                c2 = b if colour[e2] == a else a
                colour[e2] = c2
                at[p2][c2] = e2
                at[q2][c2] = e2
        colour[e] = a
        at[u][a] = e
        at[v][a] = e
    return colour


def balance(edges: list[tuple[int, int]], colour: list[int], n_nodes: int, n_colours: int) -> None:
    """Make colour classes differ in size by at most one (de Werra), in place.

    The edges coloured a or b form paths and even cycles; a path with one more a-edge than b-edges
    exists while |a| > |b| and flipping it moves one edge from a to b. O(V + E) per move.
    """
    size = [0] * n_colours
    for c in colour:
        size[c] += 1
    while True:
        a = max(range(n_colours), key=size.__getitem__)
        b = min(range(n_colours), key=size.__getitem__)
        if size[a] - size[b] <= 1:
            return
        at_a: dict[int, int] = {}
        at_b: dict[int, int] = {}
        for e, c in enumerate(colour):
            if c == a or c == b:
                u, v = edges[e]
                target = at_a if c == a else at_b
                target[u] = e
                target[v] = e
        for start in list(at_a):
            if start in at_b:
                continue
            path, x, cur = [], start, a
            while True:
                table = at_a if cur == a else at_b
                e = table.get(x)
                if e is None:
                    break
                path.append(e)
                u, v = edges[e]
                x = v if x == u else u
                cur = b if cur == a else a
            if len(path) % 2 == 1:
                for e in path:
                    colour[e] = b if colour[e] == a else a
                size[a] -= 1
                size[b] += 1
                break
        else:  # pragma: no cover - impossible by the counting argument above
            raise RuntimeError("no path to balance colour classes")


def solve_flow(p: Problem) -> dict[int, int]:
    """{request index: slot index} of an optimal agenda; the instance must be ``applicable``."""
    side = two_sides(p)
    mask = shared_slots(p)
    if side is None or mask is None:
        raise ValueError("flow+König needs a bipartite request graph and one shared availability")
    slots = bits(mask)
    limit = None if p.tables is None else p.tables * len(slots)
    chosen = b_matching(p, side, limit)
    edges = [(p.ra[r], p.rb[r]) for r in chosen]
    colour = konig_colouring(edges, p.n_people, len(slots)) if edges else []
    if p.tables is not None and edges:
        balance(edges, colour, p.n_people, len(slots))
    return {r: slots[c] for r, c in zip(chosen, colour, strict=True)}
