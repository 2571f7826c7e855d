"""The compact, index-based form of an agenda instance that every solver works on.

Participants, slots and requests become integers; availability becomes a bit mask over slot
indices (bit s set = available in slot s); ``cap[v]`` is the most meetings participant v can have,
``min(max_meetings, number of available slots)``. Building it is O(P·S + R).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

EPS = 1e-9


def bits(mask: int) -> list[int]:
    """The slot indices set in ``mask``, ascending. O(popcount)."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


@dataclass
class Problem:
    n_slots: int
    n_people: int
    ra: list[int]  # request -> participant a
    rb: list[int]  # request -> participant b
    w: list[float]  # request -> weight (>= 0)
    avail: list[int]  # participant -> slot bit mask
    cap: list[int]  # participant -> meeting limit (already <= number of available slots)
    tables: int | None  # meetings per slot, None = no limit
    common: list[int] = field(default_factory=list)  # request -> slots both sides can attend

    def __post_init__(self) -> None:
        if not self.common:
            self.common = [self.avail[a] & self.avail[b] for a, b in zip(self.ra, self.rb, strict=True)]

    @property
    def n_requests(self) -> int:
        return len(self.w)

    def total(self, placed: dict[int, int]) -> float:
        return sum(self.w[r] for r in placed)

    def problems(self, placed: dict[int, int]) -> list[str]:
        """Every broken rule of a placement {request index: slot index}; empty when valid. O(R)."""
        out = []
        seen: dict[tuple[int, int], int] = {}
        count = [0] * self.n_people
        load = [0] * self.n_slots
        for r, s in placed.items():
            if not 0 <= s < self.n_slots:
                out.append(f"request #{r}: no slot #{s}")
                continue
            load[s] += 1
            for v in (self.ra[r], self.rb[r]):
                count[v] += 1
                if not self.avail[v] >> s & 1:
                    out.append(f"request #{r}: participant #{v} is not available in slot #{s}")
                if (v, s) in seen:
                    out.append(f"request #{r}: participant #{v} already meets in slot #{s}")
                seen[(v, s)] = r
        for v, c in enumerate(count):
            if c > self.cap[v]:
                out.append(f"participant #{v}: {c} meetings over the limit {self.cap[v]}")
        if self.tables is not None:
            for s, n in enumerate(load):
                if n > self.tables:
                    out.append(f"slot #{s}: {n} meetings over {self.tables} tables")
        return out

    def tidy_bound(self, bound: float) -> float:
        """Weights that are multiples of 10^-k make every total one too: round the bound down
        to that grid (with a 1e-9 relative tolerance for floating-point noise)."""
        scale = weight_scale(self.w)
        if scale is None:
            return bound
        return math.floor(bound * scale + 1e-9 * max(1.0, abs(bound * scale))) / scale


def weight_scale(w: list[float], digits: int = 6) -> int | None:
    """The smallest 10^k (k ≤ digits) that makes every weight an integer, or None. O(R·k)."""
    for k in range(digits + 1):
        f = 10**k
        if all(abs(x * f - round(x * f)) <= 1e-9 * max(1.0, abs(x * f)) for x in w):
            return f
    return None
