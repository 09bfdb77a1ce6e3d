"""Evidence bundles: ``tracker.bundle``.

One file holding a result's whole upstream lineage and the proof that it is unedited
(docs/bundle.md); verifying one needs no store.

>>> import tempfile
>>> from pathlib import Path
>>> from pedigree.api import Tracker
>>> from pedigree.config import init_project
>>> tracker = Tracker(init_project(tempfile.mkdtemp())[0])
>>> run_id = tracker.create_run(experiment="ma-crossover", params={"window": 50})
>>> tracker.end_run(run_id, "finished")
>>> out = Path(tempfile.mkdtemp()) / "result.pedigree"
>>> tracker.bundle.write("last", out)["runs"]
1
>>> BundleAPI.verify(out)["ok"]
True
"""

from __future__ import annotations

import os
from typing import IO, Any

from pedigree.context import Context

__all__ = ["BundleAPI"]


class BundleAPI:
    """What ``pedigree bundle`` writes, verifies and shows."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def write(
        self,
        target: str,
        path: str | os.PathLike[str],
        *,
        data: bool = True,
        cwd: str | os.PathLike[str] | None = None,
    ) -> dict[str, Any]:
        """Write the bundle of ``target`` (a run, a dataset version ``NAME@vN``, a path or a
        digest) to ``path``; ``data=False`` lists objects by digest and size only."""
        from pedigree.bundle.write import write_bundle

        return write_bundle(self._ctx, target, path, data=data, cwd=cwd)

    def import_bundle(
        self, source: str | os.PathLike[str] | IO[bytes], *, anchor: str | None = None
    ) -> dict[str, Any]:
        """Verify the bundle and merge its records into this store (idempotent; each imported
        run says where it came from under ``imported_from``). An unverified bundle raises
        :class:`~pedigree.errors.IntegrityError` and imports nothing."""
        from pedigree.bundle.merge import import_bundle

        return import_bundle(self._ctx, source, anchor=anchor)

    @staticmethod
    def verify(
        source: str | os.PathLike[str] | IO[bytes], *, anchor: str | None = None
    ) -> dict[str, Any]:
        """Check a bundle offline (no store needed): ``result["ok"]`` and what failed where."""
        from pedigree.bundle.verify import verify_bundle

        return verify_bundle(source, anchor=anchor)

    @staticmethod
    def show(source: str | os.PathLike[str] | IO[bytes]) -> dict[str, Any]:
        """What a bundle holds: its target, anchor, lineage and runs (no checks made)."""
        from pedigree.bundle.show import describe

        return describe(source)
