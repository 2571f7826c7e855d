"""Demo ledger: POLICY.md's worked example and the cases a reviewer must see.

The worked example is set in 2027; the demo runs before that (today is 2026-11-26) and the ledger
refuses payments dated in the future, so the same amounts are dated 2026:
S1 rents U1's electron microscope (120,000) and NMR (380,000) -> S1 art7_renter 200,000, U1
art7_provider 50,000; L1 pays S2 2,400,000 on a scenario contract -> S2 art8_supplier 120,000.
Plus: an entry waiting for the payee (D04), a disputed one (D05), a payment with a refund (D06/D07),
a deal between related parties L1 and S4 (光华集团, D08), and one missing its invoice (D09).

Loaded through the importer (same validation path, idempotent by ref); confirmations and the
dispute go through the services, only when not already done, so loading twice changes nothing.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from market.extensions import db
from models.ledger import LedgerEntry
from models.listings import Listing

from . import services
from .importer import import_rows

FULL = ["contract", "invoice", "payment_record"]


def _listing_ref(world, owner: str, *words: str) -> str | None:
    org = world.orgs.get(owner)
    if org is None:
        return None
    stmt = select(Listing.ref).where(Listing.owner_id == org.id, or_(*[Listing.title.contains(w) for w in words]))
    return db.session.execute(stmt.order_by(Listing.id)).scalars().first()


def _row(ref, kind, payer, payee, amount, paid_at, confirmed=True, evidence=FULL, listing=None, **extra):
    row = {"ref": ref, "kind": kind, "payer": payer, "payee": payee, "amount_cny": amount,
           "paid_at": paid_at, "confirmed": confirmed, "evidence": evidence, **extra}
    if listing:
        row["listing"] = listing
    return row


def load(world) -> None:
    needed = {"S1", "S2", "S3", "S4", "S5", "U1", "I1", "L1", "GOV2"}
    if not needed <= set(world.orgs):
        return
    em = _listing_ref(world, "U1", "电镜", "电子显微镜")
    nmr = _listing_ref(world, "U1", "核磁", "NMR")
    rows = [
        _row("D01", "rental", "S1", "U1", "120000.00", "2026-03-10T10:00:00+08:00", listing=em),
        _row("D02", "rental", "S1", "U1", "380000.00", "2026-05-20T15:30:00+08:00", listing=nmr,
             declared_subsidies=[{"beneficiary": "S1", "amount_cny": "25000.00", "source": "省级创新券"}]),
        _row("D03", "scenario_contract", "L1", "S2", "2400000.00", "2026-06-30T09:00:00+08:00"),
        _row("D04", "rental", "S3", "I1", "60000.00", "2026-09-01T14:00:00+08:00", confirmed=False),
        _row("D05", "data_access", "S5", "GOV2", "30000.00", "2026-10-15T11:00:00+08:00", confirmed=False),
        _row("D06", "rental", "S2", "U1", "80000.00", "2026-04-01T10:00:00+08:00"),
        _row("D07", "rental", "S2", "U1", "-20000.00", "2026-04-20T10:00:00+08:00", reverses="D06",
             evidence=["payment_record"]),
        _row("D08", "scenario_contract", "L1", "S4", "500000.00", "2026-07-01T10:00:00+08:00"),
        _row("D09", "rental", "S1", "I1", "45000.00", "2026-08-12T10:00:00+08:00", evidence=["contract", "payment_record"]),
    ]
    result = import_rows("demo", enumerate(rows, start=1), source="demo", filename="demo")

    def entry(ref: str) -> LedgerEntry:
        return db.session.execute(select(LedgerEntry).where(LedgerEntry.ref == ref)).scalar_one()

    users = world.users
    # D04: the renter confirmed, the institute has not yet -> in I1's pending list
    d04 = entry("D04")
    if d04.payer_confirmed_at is None and "ceo@beidou-st.cn" in users:
        services.confirm(users["ceo@beidou-st.cn"], d04)
    # D05: the payer confirmed; the data centre disputes it
    d05 = entry("D05")
    if d05.payer_confirmed_at is None and "ceo@yuanhang-its.cn" in users:
        services.confirm(users["ceo@yuanhang-its.cn"], d05)
    if d05.disputed_at is None and "data@ccxq.gov.cn" in users:
        services.dispute(users["data@ccxq.gov.cn"], d05, "尚未收到这笔款项，付款凭证上的账户不是我中心账户。")
    world.summary.append(f"ledger: {result.created} entries added ({result.unchanged} already there)")
