"""Greedy placement, local improvement and a solver-free upper bound.

* ``greedy``: how event tools assign — requests by weight, each in the first feasible slot.
  O(R log R + R·S/word).
* ``improve``: local search on a valid placement. For each unplaced request r and each slot s both
  sides attend, make room (move each meeting that blocks r at s to another free slot, or drop it;
  drop the lightest meeting of a side at its limit; free a table at s), place r, re-place what
  was dropped where it fits, and keep the change only if the total weight grew. Every kept change
  raises the total, so it ends; each pass is O(R·S·(d + S)) with d the largest participant degree,
  and passes stop at a deadline.
* ``reassign``: re-choose all meetings of one participant at once, everyone else fixed — an
  assignment of its requests to its slots solved exactly (Hungarian, O(S²·(d + S))). It fixes
  what single swaps cannot when the bottleneck is one side's slots (owners fully booked).
* ``dual_bound``: min over y, μ ≥ 0 of Σ_v cap_v·y_v + K·μ + Σ_r max(0, w_r − y_a − y_b − μ),
  the Lagrangian dual of the b-matching relaxation (K = S·tables), minimised by projected
  subgradient steps with numpy; any y gives a valid upper bound. O(iterations·(R + P)).
"""

from __future__ import annotations

import itertools
import time

from ._problem import EPS, Problem, bits


class Placement:
    """A valid partial agenda with O(1) updates and an undo journal."""

    def __init__(self, p: Problem) -> None:
        self.p = p
        self.slot_of: dict[int, int] = {}
        self.busy: list[dict[int, int]] = [{} for _ in range(p.n_people)]  # v -> {slot: request}
        self.mask = [0] * p.n_people  # v -> occupied slots
        self.count = [0] * p.n_people
        self.in_slot: list[set[int]] = [set() for _ in range(p.n_slots)]
        self.full = 0  # slots at table capacity
        self.total = 0.0
        self.journal: list[tuple[bool, int, int]] = []  # (placed?, request, slot)
        self.pressure: list[list[float]] | None = None  # v -> slot -> demand; None = first slot

    def free_slots(self, r: int) -> int:
        p = self.p
        a, b = p.ra[r], p.rb[r]
        if self.count[a] >= p.cap[a] or self.count[b] >= p.cap[b]:
            return 0
        return p.common[r] & ~self.mask[a] & ~self.mask[b] & ~self.full

    def place(self, r: int, s: int) -> None:
        p = self.p
        a, b = p.ra[r], p.rb[r]
        self.slot_of[r] = s
        for v in (a, b):
            self.busy[v][s] = r
            self.mask[v] |= 1 << s
            self.count[v] += 1
        self.in_slot[s].add(r)
        if p.tables is not None and len(self.in_slot[s]) >= p.tables:
            self.full |= 1 << s
        self.total += p.w[r]
        self.journal.append((True, r, s))

    def remove(self, r: int) -> None:
        p = self.p
        s = self.slot_of.pop(r)
        for v in (p.ra[r], p.rb[r]):
            del self.busy[v][s]
            self.mask[v] &= ~(1 << s)
            self.count[v] -= 1
        self.in_slot[s].discard(r)
        self.full &= ~(1 << s)
        self.total -= p.w[r]
        self.journal.append((False, r, s))

    def rollback(self, mark: int) -> None:
        while len(self.journal) > mark:
            placed, r, s = self.journal.pop()
            if placed:
                self.remove(r)
            else:
                self.place(r, s)
            self.journal.pop()

    def place_anywhere(self, r: int) -> bool:
        free = self.free_slots(r)
        if not free:
            return False
        self.place(r, self.pick(r, free))
        return True

    def pick(self, r: int, free: int) -> int:
        """The first free slot, or with ``pressure`` the one the two sides' requests need least."""
        if self.pressure is None or not free & (free - 1):
            return (free & -free).bit_length() - 1
        pa, pb = self.pressure[self.p.ra[r]], self.pressure[self.p.rb[r]]
        return min(bits(free), key=lambda s: pa[s] + pb[s])

    def clear(self, v: int, s: int) -> bool:
        """Free slot s of participant v by moving v's meetings along a chain of slots.

        Breadth-first search over v's slots: the meeting at the current slot may move to any slot
        its partner is free in (each partner is moved at most once, so its freedom does not
        change on the way); the chain ends at a slot where v is free and a table is left.
        O(S²) per call.
        """
        if s not in self.busy[v]:
            return True
        p = self.p
        parent: dict[int, int] = {s: -1}
        queue = [s]
        for cur in queue:
            m = self.busy[v][cur]
            u = p.rb[m] if p.ra[m] == v else p.ra[m]
            for s2 in bits(p.common[m] & ~self.mask[u]):
                if s2 in parent:
                    continue
                parent[s2] = cur
                if self.mask[v] >> s2 & 1:
                    queue.append(s2)
                    continue
                if self.full >> s2 & 1:
                    continue
                x = s2
                while parent[x] != -1:
                    m2 = self.busy[v][parent[x]]
                    self.remove(m2)
                    self.place(m2, x)
                    x = parent[x]
                return True
        return False

    def relocate(self, m: int, avoid: int) -> bool:
        """Move meeting m to another slot free for both its sides (not ``avoid``)."""
        p = self.p
        a, b = p.ra[m], p.rb[m]
        free = p.common[m] & ~self.mask[a] & ~self.mask[b] & ~self.full & ~(1 << avoid)
        if not free:
            return False
        self.remove(m)
        self.place(m, self.pick(m, free))
        return True


def slot_pressure(p: Problem) -> list[list[float]]:
    """pressure[v][s]: how many of v's requests could meet in slot s. O(R·S)."""
    pressure = [[0.0] * p.n_slots for _ in range(p.n_people)]
    for r in range(p.n_requests):
        if p.w[r] <= 0:
            continue
        pa, pb = pressure[p.ra[r]], pressure[p.rb[r]]
        for s in bits(p.common[r]):
            pa[s] += 1
            pb[s] += 1
    return pressure


def incident(p: Problem) -> list[list[int]]:
    """Each participant's requests, heaviest first. O(R log R)."""
    out: list[list[int]] = [[] for _ in range(p.n_people)]
    for r in sorted(range(p.n_requests), key=lambda r: -p.w[r]):
        out[p.ra[r]].append(r)
        out[p.rb[r]].append(r)
    return out


def greedy(
    p: Problem, order: list[int] | None = None, pressure: list[list[float]] | None = None
) -> Placement:
    """Requests by weight (heaviest first, ties by input order) or in ``order``, each in its
    first free slot — or, given ``pressure``, in the free slot the two sides need least."""
    st = Placement(p)
    st.pressure = pressure
    if order is None:
        order = sorted(range(p.n_requests), key=lambda r: -p.w[r])
    for r in order:
        if p.w[r] > 0:
            st.place_anywhere(r)
    st.journal.clear()
    return st


def _lightest(st: Placement, v: int, exclude: int) -> int | None:
    best = None
    for s, m in st.busy[v].items():
        if s != exclude and (best is None or st.p.w[m] < st.p.w[best]):
            best = m
    return best


def _attempt(st: Placement, r: int, s: int, adj: list[list[int]], lightest_first: bool) -> None:
    """Make room for r at slot s and place it (the caller keeps it only if the total grew).

    A side at its limit loses its lightest meeting — first (``lightest_first``: the freed slot
    then lets a chain of moves clear s) or only after s was cleared or its meeting dropped."""
    p = st.p
    a, b = p.ra[r], p.rb[r]
    dropped = []
    if lightest_first:
        for v in (a, b):
            if st.count[v] >= p.cap[v]:
                m = _lightest(st, v, -1)
                if m is None:
                    return
                st.remove(m)
                dropped.append(m)
    for v in (a, b):
        if not st.clear(v, s):
            m = st.busy[v][s]
            st.remove(m)
            dropped.append(m)
    for v in (a, b):
        if st.count[v] >= p.cap[v]:
            m = _lightest(st, v, s)
            if m is None:
                return
            st.remove(m)
            dropped.append(m)
    if p.tables is not None and len(st.in_slot[s]) >= p.tables:
        if not any(st.relocate(m, s) for m in list(st.in_slot[s])):
            m = min(st.in_slot[s], key=p.w.__getitem__)
            st.remove(m)
            dropped.append(m)
    if (
        s not in st.busy[a]
        and s not in st.busy[b]
        and not st.full >> s & 1
        and st.count[a] < p.cap[a]
        and st.count[b] < p.cap[b]
    ):
        st.place(r, s)
    for m in sorted(dropped, key=lambda m: -p.w[m]):
        st.place_anywhere(m)
    # an ejection chain of length two: what the dropped meetings freed may take another request
    for m in dropped:
        if m in st.slot_of:
            continue
        for v in (p.ra[m], p.rb[m]):
            for other in adj[v]:
                if other not in st.slot_of and p.w[other] > 0 and p.common[other]:
                    st.place_anywhere(other)


def improve(
    st: Placement,
    deadline: float | None = None,
    max_passes: int = 50,
    priority: list[float] | None = None,
) -> Placement:
    """Local search (see the module docstring); returns ``st`` improved in place. Unplaced
    requests are tried by ``priority`` (default: weight), highest first."""
    p = st.p
    key = priority if priority is not None else p.w
    order = sorted(range(p.n_requests), key=lambda r: -key[r])
    adj = incident(p)
    for _ in range(max_passes):
        improved = False
        for r in order:
            if r in st.slot_of or p.w[r] <= 0 or not p.common[r]:
                continue
            if deadline is not None and time.perf_counter() > deadline:
                return st
            if st.place_anywhere(r):
                improved = True
                continue
            for s, lightest_first in itertools.product(bits(p.common[r]), (False, True)):
                mark = len(st.journal)
                before = st.total
                _attempt(st, r, s, adj, lightest_first)
                if st.total > before + EPS * max(1.0, abs(before)):
                    improved = True
                    break
                st.rollback(mark)
        st.journal.clear()
        if not improved:
            break
    return st


def simple_bound(p: Problem) -> float:
    """min(Σ weights of schedulable requests, ½ Σ_v its cap_v heaviest requests). O(R log R)."""
    useful = [r for r in range(p.n_requests) if p.w[r] > 0 and p.common[r]]
    total = sum(p.w[r] for r in useful)
    incident: list[list[float]] = [[] for _ in range(p.n_people)]
    for r in useful:
        incident[p.ra[r]].append(p.w[r])
        incident[p.rb[r]].append(p.w[r])
    half = sum(sum(sorted(ws, reverse=True)[: p.cap[v]]) for v, ws in enumerate(incident)) / 2
    return min(total, half)


def dual_bound(p: Problem, target: float, iterations: int = 400) -> tuple[float, list[float]]:
    """(upper bound, reduced weight w_r − y_a − y_b − μ per request at the best multipliers)
    from the Lagrangian dual (module docstring); ``target`` is a primal value."""
    import numpy as np

    useful = [r for r in range(p.n_requests) if p.w[r] > 0 and p.common[r]]
    if not useful:
        return 0.0, list(p.w)
    a = np.fromiter((p.ra[r] for r in useful), dtype=np.int64, count=len(useful))
    b = np.fromiter((p.rb[r] for r in useful), dtype=np.int64, count=len(useful))
    w = np.fromiter((p.w[r] for r in useful), dtype=np.float64, count=len(useful))
    cap = np.asarray(p.cap, dtype=np.float64)
    n = p.n_people
    k = None if p.tables is None else float(p.tables * p.n_slots)
    y = np.zeros(n)
    mu = 0.0
    best = float("inf")
    best_y, best_mu = y, mu
    step, stall = 1.0, 0
    for _ in range(iterations):
        red = w - y[a] - y[b] - mu
        pos = red > 0
        value = float(cap @ y + red[pos].sum() + (k * mu if k is not None else 0.0))
        if value < best - 1e-12:
            best, stall = value, 0
            best_y, best_mu = y, mu
        else:
            stall += 1
            if stall >= 15:
                step, stall = step / 2, 0
        g = cap - np.bincount(a[pos], minlength=n) - np.bincount(b[pos], minlength=n)
        g[(y <= 0) & (g > 0)] = 0.0  # projected: y cannot go below 0
        g_mu = 0.0
        if k is not None:
            g_mu = k - float(pos.sum())
            if mu <= 0 and g_mu > 0:
                g_mu = 0.0
        norm = float(g @ g) + g_mu * g_mu
        gap = value - target
        if norm == 0 or gap <= 1e-9 * max(1.0, abs(target)):
            break
        t = step * gap / norm
        y = np.maximum(0.0, y - t * g)
        mu = max(0.0, mu - t * g_mu)
    all_a = np.asarray(p.ra, dtype=np.int64)
    all_b = np.asarray(p.rb, dtype=np.int64)
    reduced = np.asarray(p.w, dtype=np.float64) - best_y[all_a] - best_y[all_b] - best_mu
    return best, reduced.tolist()


def _assignment(score: list[list[float | None]], n_cols: int) -> list[int | None]:
    """Max-weight assignment of rows to distinct columns; None marks a forbidden pair and a row
    may stay unassigned. Shortest augmenting paths (Hungarian, e-maxx form) on the costs
    −score with one private zero-cost "empty" column per row: O(n²·(m + n)) for n rows, m columns."""
    n = len(score)
    m = n_cols + n
    inf = float("inf")
    big = 1e18
    cost = []
    for i, row in enumerate(score):
        c = [big if x is None else -x for x in row]
        empty = [big] * n
        empty[i] = 0.0
        cost.append(c + empty)
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    owner = [0] * (m + 1)  # column -> row (1-based), 0 = free
    way = [0] * (m + 1)
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        minv = [inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0 = owner[j0]
            row = cost[i0 - 1]
            ui0 = u[i0]
            delta = inf
            j1 = 0
            for j in range(1, m + 1):
                if not used[j]:
                    cur = row[j - 1] - ui0 - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta = minv[j]
                        j1 = j
            for j in range(m + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    result: list[int | None] = [None] * n
    for j in range(1, n_cols + 1):
        if owner[j]:
            result[owner[j] - 1] = j - 1
    return result


def reassign(st: Placement, v: int) -> bool:
    """Re-choose all of v's meetings at once, everyone else's fixed: an assignment of v's
    requests to v's slots (a request fits a slot its partner is free in, with a table left),
    solved exactly by ``_assignment``. Only for v whose limit is not below its slot count
    (the assignment has no cardinality limit). True if the total grew. O(S²·(d + S))."""
    p = st.p
    slots = bits(p.avail[v])
    if p.cap[v] < len(slots) or not slots:
        return False
    mine = [r for r in st.slot_of if p.ra[r] == v or p.rb[r] == v]
    lightest = min((p.w[r] for r in mine), default=0.0)
    candidates = []
    for r in _incident_of(st, v):
        u = p.rb[r] if p.ra[r] == v else p.ra[r]
        placed = r in st.slot_of
        if not placed and (p.w[r] <= lightest or st.count[u] >= p.cap[u] or not p.common[r]):
            continue
        candidates.append(r)
    if not candidates:
        return False
    score: list[list[float | None]] = []
    for s in slots:
        own = st.busy[v].get(s)
        table_free = p.tables is None or len(st.in_slot[s]) - (own is not None) < p.tables
        row: list[float | None] = []
        for r in candidates:
            u = p.rb[r] if p.ra[r] == v else p.ra[r]
            ok = table_free and p.common[r] >> s & 1 and st.busy[u].get(s, r) == r
            row.append(p.w[r] if ok else None)
        score.append(row)
    choice = _assignment(score, len(candidates))
    new_total = sum(p.w[candidates[c]] for c in choice if c is not None)
    old_total = sum(p.w[r] for r in mine)
    if new_total <= old_total + EPS * max(1.0, old_total):
        return False
    for r in mine:
        st.remove(r)
    for s, c in zip(slots, choice, strict=True):
        if c is not None:
            st.place(candidates[c], s)
    return True


def _incident_of(st: Placement, v: int) -> list[int]:
    adj = getattr(st, "_adj", None)
    if adj is None:
        adj = st._adj = incident(st.p)
    return adj[v]
