"""The web UI (a face, like ``cli/`` and ``server/``): pages over the Tracker, and their JSON.

``pedigree ui`` serves it for the local project; ``pedigree server`` mounts it at ``/`` behind a
login. It needs the ``server`` extra (Starlette, Jinja2); the core never imports it. The
third-party JavaScript it serves is bundled by ``make web`` into ``static/dist`` (docs/ui.md).
"""

from __future__ import annotations

from pedigree.web.app import CSP, TrackerFactory, create_ui
from pedigree.web.security import Auth, Viewer

__all__ = ["CSP", "Auth", "TrackerFactory", "Viewer", "create_ui"]
