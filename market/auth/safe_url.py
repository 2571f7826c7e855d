"""Where a redirect after login (``?next=``) or a language switch (Referer) may go: only back to this site.

Browsers forgive a lot: they drop tabs and newlines anywhere in a URL, treat ``\\`` as ``/`` and read
``//host`` or ``/\\host`` as another site. So control characters and whitespace are removed first, the
rest is parsed, and only a plain path on this site is accepted.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit, urlunsplit

_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f\s]")


def local_path(target: str | None, host_url: str | None = None) -> str | None:
    """``target`` as a path on this site (with its query), or None if it is absent or may lead elsewhere.

    ``host_url`` (``request.host_url``) lets an absolute URL of this very site through, reduced to its path.
    """
    if not target or not isinstance(target, str):
        return None
    cleaned = _CONTROL_OR_SPACE.sub("", unicodedata.normalize("NFKC", target))
    if not cleaned or "\\" in cleaned:
        return None
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc:
        if host_url is None:
            return None
        own = urlsplit(host_url)
        if parts.scheme not in ("http", "https") or (parts.scheme, parts.netloc) != (own.scheme, own.netloc):
            return None
        parts = parts._replace(scheme="", netloc="")
    path = parts.path
    if not path.startswith("/") or path.startswith("//"):
        return None
    decoded = _CONTROL_OR_SPACE.sub("", unquote(path))  # "/%2F%2Fevil" or "/%09/evil" once decoded
    if decoded.startswith("//") or "\\" in decoded[:2] or decoded.startswith("/\\"):
        return None
    return urlunsplit(("", "", path, parts.query, ""))


def safe_next(target: str | None, default: str, host_url: str | None = None) -> str:
    """``target`` if it stays on this site, else ``default``."""
    return local_path(target, host_url) or default
