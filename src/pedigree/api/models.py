"""Stored artifacts and the model registry: ``tracker.models``.

``get`` gives back anything the record holds (a digest, ``RUN:PATH``, ``DATASET@vN[:PATH]``, a
model ``NAME@ALIAS`` or ``NAME/N``), verified (see :mod:`pedigree.models.get`); ``register``,
``ls``, ``show``, ``alias``, ``history`` keep the registry (see :mod:`pedigree.models.registry`).

>>> import tempfile
>>> from pedigree.api import Tracker
>>> from pedigree.config import init_project
>>> project, _ = init_project(tempfile.mkdtemp())
>>> _ = (project.root / "prices.csv").write_text("1\\n")
>>> tracker = Tracker(project)
>>> _ = tracker.data.add(project.root / "prices.csv", name="prices")
>>> tracker.models.get("prices@v1").path.read_text()
'1\\n'
>>> tracker.models.register("prices-model", tracker.data.get("prices").digest).ref
'prices-model/1'
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pedigree.context import Context

if TYPE_CHECKING:
    from pedigree.models.get import GetResult
    from pedigree.models.registry import AliasMove, ModelVersion, ModelView

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

    def register(self, name: str, source: str, *, note: str | None = None) -> ModelVersion:
        """Record ``source`` (``RUN:PATH``, an output of a run, or a digest) as the next version
        of model ``name``."""
        from pedigree.models.registry import register

        return register(self._ctx, name, source, note=note)

    def ls(self) -> list[dict[str, Any]]:
        """Every model: its latest version and its aliases."""
        from pedigree.models.registry import list_models

        return list_models(self._ctx)

    def show(self, ref: str) -> ModelView:
        """``NAME``, ``NAME/N`` or ``NAME@ALIAS`` with aliases, reviews and upstream lineage."""
        from pedigree.models.registry import show

        return show(self._ctx, ref)

    def alias(self, name: str, alias: str, version: int) -> AliasMove:
        """Point ``alias`` at ``version``; a protected alias needs an independent approval."""
        from pedigree.models.registry import alias as move

        return move(self._ctx, name, alias, version)

    def history(self, name: str) -> list[dict[str, Any]]:
        """Every version, review and alias move of a model, oldest first."""
        from pedigree.models.registry import history

        return history(self._ctx, name)

    def review(self, ref: str, decision: str, *, note: str | None = None) -> dict[str, Any]:
        """Approve or reject a model version (as ``pedigree approve model:NAME/N``)."""
        from pedigree.models.registry import review_model

        return review_model(self._ctx, ref, decision, note=note)
