"""Beijing-time calendar buckets computed by the database (POLICY.md interpretation 5).

``local_year(col)`` and ``local_month(col)`` compile to ``EXTRACT(... AT TIME ZONE 'Asia/Shanghai')`` on
PostgreSQL and to ``strftime(..., '+8 hours')`` on SQLite (which stores naive UTC; China has kept UTC+8
without daylight saving since 1991, and the platform's dates lie in 2000..2100: ``market.dates``).
Aggregates GROUP BY these instead of bucketing rows in Python.
"""

from __future__ import annotations

from sqlalchemy import Float, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class local_year(FunctionElement):  # noqa: N801 (reads as a SQL function)
    type = Integer()
    inherit_cache = True


class local_month(FunctionElement):  # noqa: N801
    """``'YYYY-MM'`` of the Beijing-time month."""

    type = String()
    inherit_cache = True


@compiles(local_year, "postgresql")
def _year_pg(element, compiler, **kw):
    return f"CAST(EXTRACT(YEAR FROM ({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'Asia/Shanghai') AS INTEGER)"


@compiles(local_year, "sqlite")
def _year_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%Y', {compiler.process(element.clauses, **kw)}, '+8 hours') AS INTEGER)"


@compiles(local_month, "postgresql")
def _month_pg(element, compiler, **kw):
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"


@compiles(local_month, "sqlite")
def _month_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)}, '+8 hours')"


class hours_between(FunctionElement):  # noqa: N801
    """Hours from the first to the second timestamp, as a float computed by the database."""

    type = Float()
    inherit_cache = True


@compiles(hours_between, "postgresql")
def _hours_pg(element, compiler, **kw):
    a, b = list(element.clauses)
    return f"(EXTRACT(EPOCH FROM ({compiler.process(b, **kw)}) - ({compiler.process(a, **kw)})) / 3600.0)"


@compiles(hours_between, "sqlite")
def _hours_sqlite(element, compiler, **kw):
    a, b = list(element.clauses)
    return f"((julianday({compiler.process(b, **kw)}) - julianday({compiler.process(a, **kw)})) * 24.0)"


def no_jit() -> None:
    """PostgreSQL only: no JIT compilation for this transaction's queries.

    The completeness expression makes the planner's cost estimate large, and PostgreSQL then spends
    0.5-1.5 s compiling the query (measured: 1.5 s of JIT for 1.3 ms of work on 20,000 entries), far
    more than running it. ``SET LOCAL`` ends with the transaction (the request's).
    """
    from sqlalchemy import text

    from market.extensions import db

    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))
