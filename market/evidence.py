"""Content-addressed file store for evidence (licences, contracts, invoices, payment records).

A file is stored once under its SHA-256 (``ab/cdef...``); records keep the hash, so any change to a
stored file is detectable (``ledger verify``). Allowed types are checked by content, not by name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _

from .errors import ValidationError

# magic bytes -> (extension, mime)
_SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "pdf", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"PK\x03\x04", "zip", "application/zip"),  # docx/xlsx are zip containers
]
DEFAULT_ALLOWED = frozenset({"pdf", "png", "jpg"})
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    kind: str  # pdf/png/jpg/zip
    filename: str


def sniff(head: bytes) -> str | None:
    for magic, ext, _mime in _SIGNATURES:
        if head.startswith(magic):
            return ext
    return None


def root() -> Path:
    return Path(current_app.config["EVIDENCE_DIR"])


def path_for(sha256: str) -> Path:
    return root() / sha256[:2] / sha256


def store(
    stream: BinaryIO,
    filename: str,
    field: str = "file",
    allowed: frozenset[str] = DEFAULT_ALLOWED,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> StoredFile:
    """Store the upload by hash; refuse a disallowed type or a file over ``max_bytes``."""
    folder = root()
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(64 * 1024):
                if not head:
                    head = chunk[:16]
                size += len(chunk)
                if size > max_bytes:
                    raise ValidationError(
                        _("文件超过大小上限（%(mb)d MB）。", mb=max_bytes // (1024 * 1024)), field
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationError(_("文件是空的。"), field)
        kind = sniff(head)
        if kind not in allowed:
            raise ValidationError(
                _("不支持的文件类型，请上传 %(types)s 文件。", types=" / ".join(sorted(allowed)).upper()), field
            )
        sha = digest.hexdigest()
        target = path_for(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            os.unlink(tmp_name)
        else:
            os.replace(tmp_name, target)
        return StoredFile(sha256=sha, size=size, kind=kind, filename=os.path.basename(filename)[:255])
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


def file_matches(sha256: str) -> bool:
    """True when the stored file exists and still hashes to its name."""
    path = path_for(sha256)
    if not path.is_file():
        return False
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest() == sha256
