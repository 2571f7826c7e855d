import hashlib
import io

import pytest

from market import evidence
from market.errors import ValidationError

PDF = b"%PDF-1.4\n% test document\n"


def test_stored_by_hash_and_verifiable(app_ctx):
    stored = evidence.store(io.BytesIO(PDF), "../../合同.pdf")
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert stored.filename == "合同.pdf" and stored.kind == "pdf"
    assert evidence.file_matches(stored.sha256)
    evidence.path_for(stored.sha256).write_bytes(PDF + b"tampered")
    assert not evidence.file_matches(stored.sha256)


def test_type_is_checked_by_content_not_name(app_ctx):
    with pytest.raises(ValidationError):
        evidence.store(io.BytesIO(b"MZ\x90\x00 not a pdf"), "invoice.pdf")


def test_size_limit_and_empty_file(app_ctx):
    with pytest.raises(ValidationError):
        evidence.store(io.BytesIO(PDF * 100), "big.pdf", max_bytes=len(PDF) * 10)
    with pytest.raises(ValidationError):
        evidence.store(io.BytesIO(b""), "empty.pdf")
    leftovers = [p for p in evidence.root().iterdir() if p.name.startswith(".upload-")]
    assert leftovers == []
