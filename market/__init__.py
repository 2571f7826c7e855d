"""The Flask application of the marketplace. ``flask --app market`` finds :func:`create_app` here.

The factory lives in :mod:`market.app` and is imported on first use, so the pure modules under
``market.domain`` (and the subsidy rules) can be imported — by the rules' tests, a notebook or another
tool — without loading Flask.
"""

from __future__ import annotations

from typing import Any


def create_app(config: Any = None):
    """Build the application (see :func:`market.app.create_app`)."""
    from .app import create_app as _create_app

    return _create_app(config)
