"""Opening an evidence bundle safely: a zip with a sealed manifest and only safe member paths.

Anything that is not a bundle (a truncated download, another zip, a text file) raises
:class:`~pedigree.errors.IntegrityError` with one line saying so; no member is ever extracted
to a path outside the folder it is written to (absolute paths and ``..`` are refused when the
bundle is opened).

>>> import io, zipfile
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w") as zf:
...     zf.writestr("../evil", b"x")
>>> try:
...     open_bundle(buf)
... except IntegrityError as exc:
...     print(str(exc)[:44])
the bundle holds an unsafe path '../evil' (i
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pedigree.bundle import format as fmt
from pedigree.errors import IntegrityError, NotFound

__all__ = ["Bundle", "open_bundle"]


@dataclass
class Bundle:
    """An opened bundle: its zip, its manifest as read, and the raw manifest bytes."""

    zf: zipfile.ZipFile
    manifest: dict[str, Any]
    raw_manifest: bytes

    def read(self, name: str) -> bytes:
        try:
            return self.zf.read(name)
        except KeyError:
            raise IntegrityError(f"{name}: missing from the bundle") from None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise IntegrityError(f"{name}: cannot be read ({exc})") from None

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name))
        except ValueError:
            raise IntegrityError(f"{name}: not valid JSON") from None

    def names(self) -> list[str]:
        return self.zf.namelist()

    def extract(self, name: str, dest: Path) -> Path:
        """Write member ``name`` under folder ``dest`` (its path was checked when opened)."""
        target = (dest / name).resolve()
        if not target.is_relative_to(dest.resolve()):  # pragma: no cover - refused at open
            raise IntegrityError(f"{name}: would escape {dest}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.read(name))
        return target

    def close(self) -> None:
        self.zf.close()


def open_bundle(source: str | os.PathLike[str] | IO[bytes]) -> Bundle:
    """Open a bundle file (or a binary file object) and read its manifest."""
    label = str(source) if isinstance(source, str | os.PathLike) else "the bundle"
    if isinstance(source, str | os.PathLike) and not Path(source).is_file():
        raise NotFound(f"no bundle at {source}")
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise IntegrityError(
            f"{label} is not a Pedigree bundle (not a readable zip file: {exc})"
        ) from None
    try:
        seen: set[str] = set()
        for info in zf.infolist():
            name = info.filename
            if not fmt.safe_name(name):
                raise IntegrityError(
                    f"the bundle holds an unsafe path {name!r} "
                    "(it would escape the folder it is extracted to)"
                )
            if name in seen:
                raise IntegrityError(f"the bundle holds {name!r} twice")
            seen.add(name)
        if fmt.MANIFEST not in seen:
            raise IntegrityError(f"{label} is not a Pedigree bundle (it has no {fmt.MANIFEST})")
        bundle = Bundle(zf, {}, b"")
        bundle.raw_manifest = bundle.read(fmt.MANIFEST)
        try:
            manifest = json.loads(bundle.raw_manifest)
        except ValueError:
            raise IntegrityError(
                f"{fmt.MANIFEST}: not valid JSON (the manifest was changed)"
            ) from None
        if not isinstance(manifest, dict) or manifest.get("format") != fmt.FORMAT:
            raise IntegrityError(f"{label} is not a Pedigree bundle (its manifest names no format)")
        if manifest.get("version") != fmt.VERSION:
            raise IntegrityError(
                f"{label} is a Pedigree bundle of format version {manifest.get('version')!r}; "
                f"this Pedigree reads version {fmt.VERSION}"
            )
        bundle.manifest = manifest
        return bundle
    except BaseException:
        zf.close()
        raise
