"""Datasets and stored artifacts: ``tracker.data``.

add, ls, log, get, diff, checkout, verify of dataset versions (what ``pedigree data ...`` does);
the digest a path would be recorded with.

>>> import tempfile
>>> from pedigree.api import Tracker
>>> from pedigree.config import init_project
>>> project, _ = init_project(tempfile.mkdtemp())
>>> _ = (project.root / "prices.csv").write_text("1\\n")
>>> data = Tracker(project).data
>>> data.add(project.root / "prices.csv", name="prices").version.ref
'prices@v1'
>>> [v.ref for v in data.ls()], data.get("prices").kind
(['prices@v1'], 'file')
>>> data.human_size(3 * 1024 * 1024)
'3.0 MiB'
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pedigree.context import Context

if TYPE_CHECKING:
    from pedigree.data.datasets import (
        AddResult,
        CheckoutResult,
        DatasetVersion,
        DiffResult,
        VerifyReport,
    )
    from pedigree.data.snapshot import Snapshot

__all__ = ["DataAPI"]


class DataAPI:
    """Versions of files and folders, by content (see :mod:`pedigree.data.datasets`)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def add(
        self, path: str | os.PathLike[str], *, name: str | None = None, progress: bool = False
    ) -> AddResult:
        """Store ``path`` and record it as the next version of ``name`` (unless unchanged)."""
        from pedigree.data.datasets import add

        return add(self._ctx, path, name=name, progress=progress)

    def ls(self) -> list[DatasetVersion]:
        """The latest version of every dataset, by name."""
        from pedigree.data.datasets import list_latest

        return list_latest(self._ctx)

    def log(self, name: str) -> list[DatasetVersion]:
        """Every version of the dataset ``name``, oldest first."""
        from pedigree.data.datasets import log

        return log(self._ctx, name)

    def get(self, ref: str) -> DatasetVersion:
        """The version ``NAME@vN`` names (``NAME`` alone: the latest)."""
        from pedigree.data.datasets import get

        return get(self._ctx, ref)

    def diff(self, old_ref: str, new_ref: str) -> DiffResult:
        """The files added, removed and changed between two versions."""
        from pedigree.data.datasets import diff

        return diff(self._ctx, old_ref, new_ref)

    def checkout(
        self,
        ref: str,
        *,
        to: str | None = None,
        clean: bool = False,
        force: bool = False,
        progress: bool = False,
    ) -> CheckoutResult:
        """Restore the exact bytes of ``ref``, at its recorded path or at ``to``."""
        from pedigree.data.datasets import checkout

        return checkout(self._ctx, ref, to=to, clean=clean, force=force, progress=progress)

    def verify(self, *, progress: bool = False) -> VerifyReport:
        """Re-hash every stored object; report corrupt ones and referenced ones that are missing."""
        from pedigree.data.datasets import verify

        return verify(self._ctx, progress=progress)

    def hash_path(
        self,
        path: str | os.PathLike[str],
        *,
        root: str | os.PathLike[str] | None = None,
        store: bool = False,
    ) -> Snapshot:
        """What ``path`` holds, with the digest Pedigree records for it (a folder's is its
        manifest's); see :func:`pedigree.data.snapshot.hash_path`."""
        from pedigree.data.snapshot import hash_path

        return hash_path(self._ctx, path, root=root, store=store)

    @staticmethod
    def human_size(n: int) -> str:
        """``n`` bytes as the CLI shows sizes (``3.0 MiB``)."""
        from pedigree.data.datasets import human_size

        return human_size(n)
