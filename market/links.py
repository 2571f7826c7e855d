"""Links built from the URL map, never written by hand: ``path_for`` for pages and notification
``link`` fields, ``external_url``/``absolute`` for mail (always on ``SITE_URL``, never on the Host of
a request). Both work inside a request and outside one (CLI, scheduler, outbox drain).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for
from werkzeug.routing import MapAdapter


def _site_adapter() -> MapAdapter:
    site = urlsplit(current_app.config["SITE_URL"])
    return current_app.url_map.bind(site.netloc, script_name=site.path or "/", url_scheme=site.scheme or "http")


def path_for(endpoint: str, **values) -> str:
    """The site-relative path of ``endpoint`` (``/deals/bids/5``), as ``url_for`` gives it."""
    if has_request_context():
        return url_for(endpoint, **values)
    return _site_adapter().build(endpoint, values)


def external_url(endpoint: str, **values) -> str:
    """The absolute address of ``endpoint`` on SITE_URL (``https://market.example.cn/deals/bids/5``)."""
    return _site_adapter().build(endpoint, values, force_external=True)


def absolute(link: str) -> str:
    """A site-relative path made absolute on SITE_URL's origin; anything else is returned as is."""
    if link.startswith("/") and not link.startswith("//"):
        site = urlsplit(current_app.config["SITE_URL"])
        return f"{site.scheme}://{site.netloc}{link}"
    return link
