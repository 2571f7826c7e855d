"""The evidence types of a ledger entry as bits the database keeps (issue 10): ``ledger_entry.evidence_bits``.

A full year's subsidy computation needs, for every (entry, side) it reads, which evidence types the hashed
``evidence_json`` holds; searching a million JSON texts for them took about a third of that query's CPU on
PostgreSQL (four ``strpos`` per row, per side). The column is *generated* from ``evidence_json`` by the
database, so it is right whoever writes an entry and needs no code to keep it in step (``evidence_json`` never
changes: the append-only guard refuses it). Not hashed: ``ledger verify`` and the chain read the hashed
columns only.

PostgreSQL stores it (``GENERATED ALWAYS AS ... STORED``): adding it rewrites ``ledger_entry`` under an
ACCESS EXCLUSIVE lock — 18 s for 1,000,000 entries on the shared 2-core test machine under load 3 (BENCHMARKS.md,
"Subsidy engine", fifth pass); plan the upgrade for a quiet moment on a large ledger. SQLite cannot add a stored
generated column to an existing table, so there it is virtual (computed when read, as the engine did before):
instant to add, and the same expression the models give.

The expression is ``models.ledger.evidence_bits_sql`` as of this revision, copied (no app code is imported).

Revision ID: f2b6d8a4c1e3
Revises: d7e2a5c8f1b4
Create Date: 2026-12-06 05:20:00
"""

from alembic import op

revision = "f2b6d8a4c1e3"
down_revision = "d7e2a5c8f1b4"
branch_labels = None
depends_on = None

EVIDENCE_BITS = {"contract": 8, "invoice": 16, "payment_record": 32, "other": 64}


def _expression(find: str) -> str:
    return " + ".join(f"CASE WHEN {find}(evidence_json, '\"type\":\"{t}\"') > 0 THEN {bit} ELSE 0 END"
                      for t, bit in EVIDENCE_BITS.items())


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ledger_entry ADD COLUMN evidence_bits SMALLINT NOT NULL "
                   f"GENERATED ALWAYS AS ({_expression('strpos')}) STORED")
    else:
        op.execute("ALTER TABLE ledger_entry ADD COLUMN evidence_bits SMALLINT NOT NULL "
                   f"GENERATED ALWAYS AS ({_expression('instr')}) VIRTUAL")


def downgrade() -> None:
    op.execute("ALTER TABLE ledger_entry DROP COLUMN evidence_bits")
