"""Bringing another tool's records into the project: ``tracker.imports``.

``mlflow`` imports an MLflow store (see :mod:`pedigree.interop.mlflow` and docs/mlflow.md):
its runs become ordinary Pedigree runs that remember where they came from, its registered
models versions of Pedigree's registry. A second import of the same store adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pedigree.context import Context

if TYPE_CHECKING:
    from pedigree.interop.mlflow.importer import ImportReport

__all__ = ["ImportsAPI"]


class ImportsAPI:
    """Imports from other tools."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def mlflow(
        self,
        tracking_uri: str,
        *,
        experiments: Sequence[str] = (),
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        """Import the MLflow store at ``tracking_uri`` (``sqlite:///mlflow.db``,
        ``postgresql://...``, ``http://host:5000``, a ``./mlruns`` folder): every experiment, or
        those named. ``progress(done, total)`` is called as runs are imported."""
        from pedigree.interop.mlflow.importer import import_mlflow

        return import_mlflow(self._ctx, tracking_uri, experiments=experiments, progress=progress)
