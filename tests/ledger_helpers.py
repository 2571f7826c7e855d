"""Helpers for the ledger tests: evidence uploads and fixed times."""

from __future__ import annotations

import datetime as dt
import io

from market.ledger.services import Upload

PDF = b"%PDF-1.4\n% ledger test evidence\n"
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
PAID = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def pdf(doc_type: str, tag: str = "") -> Upload:
    return Upload(doc_type, io.BytesIO(PDF + f"{doc_type}{tag}".encode()), f"{doc_type}{tag}.pdf")


def full_evidence(tag: str = "") -> list[Upload]:
    return [pdf("contract", tag), pdf("invoice", tag), pdf("payment_record", tag)]
