"""The time-indexed LP relaxation, solved with OR-Tools GLOP.

Variables x[r,s] ∈ [0, 1] for each request r and each slot s both its participants attend;
maximise Σ w_r·x[r,s] subject to
  Σ_r∋v x[r,s] ≤ 1            per participant and slot (only where ≥ 2 variables meet),
  Σ_r∋v,s x[r,s] ≤ cap_v      per participant (only where it can bind),
  Σ_s x[r,s] ≤ 1              per request (only with ≥ 2 slots),
  Σ_r x[r,s] ≤ tables         per slot (only where it can bind).
The LP value bounds every agenda. An integral solution (every x within 1e-6 of 0 or 1) is
therefore optimal; a fractional one is rounded by the caller and reported with its gap.

The model goes to GLOP through OR-Tools' ``model_builder_helper`` (the C++ model behind
``model_builder``): variables and objective as numpy arrays and one C++ call per non-zero, about
three times faster to build than ``pywraplp``'s per-coefficient SWIG calls at this size; the
solver is the same GLOP.

Size: N = Σ_r |common slots of r| ≤ R·S variables, ≤ P·S + P + R + S rows, ≤ 6N non-zeros.
Building is O(N); GLOP is a simplex code (no polynomial guarantee), measured in BENCHMARKS.md.
"""

from __future__ import annotations

from ._problem import Problem, bits

INTEGRAL_TOL = 1e-6


def solve_lp(p: Problem) -> tuple[dict[tuple[int, int], float], float, bool]:
    """(x values {(request, slot): value} above 1e-9, LP optimum, integral?)."""
    import numpy as np
    from ortools.linear_solver.python import model_builder_helper as mbh

    S = p.n_slots
    var_r: list[int] = []
    var_s: list[int] = []
    n_requests_of = [0] * p.n_people
    for r in range(p.n_requests):
        a, b = p.ra[r], p.rb[r]
        if p.w[r] <= 0 or p.cap[a] == 0 or p.cap[b] == 0 or not p.common[r]:
            continue
        n_requests_of[a] += 1
        n_requests_of[b] += 1
        for s in bits(p.common[r]):
            var_r.append(r)
            var_s.append(s)
    n = len(var_r)
    if n == 0:
        return {}, 0.0, True
    vr = np.asarray(var_r, dtype=np.int64)
    vs = np.asarray(var_s, dtype=np.int64)
    va = np.asarray(p.ra, dtype=np.int64)[vr]
    vb = np.asarray(p.rb, dtype=np.int64)[vr]
    weight = np.asarray(p.w, dtype=np.float64)[vr]
    var_index = np.arange(n, dtype=np.int64)

    row_vars: list[np.ndarray] = []  # the variable indices of each row, grouped per family
    row_keys: list[np.ndarray] = []
    row_ubs: list[np.ndarray] = []

    def family(keys: np.ndarray, cols: np.ndarray, ub: np.ndarray, keep: np.ndarray) -> None:
        """Rows "Σ x[cols with key k] ≤ ub[k]" for every key k with keep[k]."""
        mask = keep[keys]
        row_keys.append(keys[mask])
        row_vars.append(cols[mask])
        row_ubs.append(ub)

    # participant × slot rows: each variable sits in its a-row and its b-row
    ps_keys = np.concatenate([va * S + vs, vb * S + vs])
    ps_cols = np.concatenate([var_index, var_index])
    ps_count = np.bincount(ps_keys, minlength=p.n_people * S)
    family(ps_keys, ps_cols, np.ones(p.n_people * S), ps_count >= 2)
    # participant totals
    cap = np.asarray(p.cap, dtype=np.float64)
    binds = np.asarray(n_requests_of) > cap
    family(np.concatenate([va, vb]), ps_cols, cap, binds)
    # requests with several slots
    per_request = np.bincount(vr, minlength=p.n_requests)
    family(vr, var_index, np.ones(p.n_requests), per_request >= 2)
    # tables
    if p.tables is not None:
        per_slot = np.bincount(vs, minlength=S)
        family(vs, var_index, np.full(S, float(p.tables)), per_slot > p.tables)

    model = mbh.ModelBuilderHelper()
    model.add_var_array_with_bounds(np.zeros(n), np.ones(n), np.zeros(n, dtype=bool), "")
    model.set_objective_coefficients(var_index.tolist(), weight.tolist())
    model.set_maximize(True)
    add_row = model.add_linear_constraint
    set_lb = model.set_constraint_lower_bound
    set_ub = model.set_constraint_upper_bound
    add_term = model.add_term_to_constraint
    for keys, cols, ub in zip(row_keys, row_vars, row_ubs, strict=True):
        if not len(keys):
            continue
        distinct, row_of = np.unique(keys, return_inverse=True)
        first = None
        for k in distinct.tolist():
            ct = add_row()
            if first is None:
                first = ct
            set_lb(ct, -np.inf)
            set_ub(ct, float(ub[k]))
        for row, col in zip((row_of + first).tolist(), cols.tolist(), strict=True):
            add_term(row, col, 1.0)

    solver = mbh.ModelSolverHelper("glop")
    solver.solve(model)
    if solver.status() != mbh.SolveStatus.OPTIMAL:  # pragma: no cover - bounded, x = 0 feasible
        raise RuntimeError(f"GLOP ended with {solver.status()}: {solver.status_string()}")
    x = solver.variable_values()
    integral = bool(np.all((x <= INTEGRAL_TOL) | (x >= 1 - INTEGRAL_TOL)))
    nonzero = np.nonzero(x > 1e-9)[0]
    values = {
        (r, s): val
        for r, s, val in zip(vr[nonzero].tolist(), vs[nonzero].tolist(), x[nonzero].tolist(), strict=True)
    }
    return values, float(solver.objective_value()), integral
