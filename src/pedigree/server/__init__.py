"""The team server: an HTTP face of the Tracker (``pedigree server``; see docs/server.md).

Importing this package imports FastAPI (the ``server`` extra); the client side of Pedigree never
does (``pedigree.store.remote`` speaks HTTP through the standard library).
"""

from __future__ import annotations

from pedigree.server.app import FAILED_AUTH_LIMIT, ROUTES, create_app, may_any

__all__ = ["FAILED_AUTH_LIMIT", "ROUTES", "create_app", "may_any"]
