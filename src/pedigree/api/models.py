"""Stored artifacts and the model registry: ``tracker.models``.

``get`` gives back anything the record holds (a digest, ``RUN:PATH``, ``DATASET@vN[:PATH]``, a
model ``NAME@ALIAS`` or ``NAME/N``), verified (see :mod:`pedigree.models.get`).

>>> import tempfile
>>> from pedigree.api import Tracker
>>> from pedigree.config import init_project
>>> project, _ = init_project(tempfile.mkdtemp())
>>> _ = (project.root / "prices.csv").write_text("1\\n")
>>> tracker = Tracker(project)
>>> _ = tracker.data.add(project.root / "prices.csv", name="prices")
>>> tracker.models.get("prices@v1").path.read_text()
'1\\n'
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pedigree.context import Context

if TYPE_CHECKING:
    from pedigree.models.get import GetResult

__all__ = ["ModelsAPI"]


class ModelsAPI:
    """Artifacts by their record, and named, versioned, reviewed models."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def get(
        self,
        target: str,
        *,
        dest: str | os.PathLike[str] | None = None,
        into: str | os.PathLike[str] | None = None,
        force: bool = False,
    ) -> GetResult:
        """Write what ``target`` names at ``dest``, or under its own name in the folder
        ``into`` (verified; never overwriting other content without ``force``); with neither,
        a read-only copy in the project cache."""
        from pedigree.models.get import get

        return get(self._ctx, target, dest=dest, into=into, force=force)
