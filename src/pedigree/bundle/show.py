"""What a bundle holds, read from the file alone (``pedigree bundle show``); checks nothing:
``pedigree bundle verify`` does.

>>> import io
>>> from pedigree.errors import IntegrityError
>>> try:
...     describe(io.BytesIO(b"PK"))
... except IntegrityError as exc:
...     print(exc)  # doctest: +ELLIPSIS
the bundle is not a Pedigree bundle (not a readable zip file: ...)
"""

from __future__ import annotations

import os
import re
from typing import IO, Any

from pedigree.bundle import format as fmt
from pedigree.bundle.read import open_bundle

__all__ = ["describe"]

_SUMMARY = re.compile(r"<title>(.*?)</title>", re.S)


def describe(source: str | os.PathLike[str] | IO[bytes]) -> dict[str, Any]:
    bundle = open_bundle(source)
    try:
        m = bundle.manifest
        names = set(bundle.names())
        lineage = bundle.json(fmt.LINEAGE) if fmt.LINEAGE in names else None
        runs = []
        for run_id in m.get("runs") or []:
            name = f"records/runs/{run_id}.json"
            if name in names:
                rec = bundle.json(name)
                runs.append(
                    {
                        "id": rec.get("id"),
                        "experiment": rec.get("experiment"),
                        "status": rec.get("status"),
                        "user": rec.get("user"),
                        "identity": (rec.get("identity") or {}).get("trust"),
                        "params": rec.get("params"),
                        "metrics": rec.get("metrics"),
                        "commit": (rec.get("code") or {}).get("commit"),
                        "reproductions": rec.get("reproductions"),
                        "approvals": rec.get("approvals"),
                    }
                )
        report = None
        if fmt.REPORT in names:
            found = _SUMMARY.search(bundle.read(fmt.REPORT).decode("utf-8", "replace"))
            report = found.group(1).strip() if found else "report.html"
        objects = m.get("objects") or []
        return {
            "format": f"{m.get('format')} v{m.get('version')}",
            "created": m.get("created"),
            "created_by": m.get("created_by"),
            "target": m.get("target"),
            "anchor": m.get("anchor"),
            "data": m.get("data"),
            "runs": runs,
            "lineage": lineage,
            "objects": {
                "listed": len(objects),
                "included": sum(1 for o in objects if o.get("included")),
                "bytes": sum(o.get("size") or 0 for o in objects if o.get("included")),
            },
            "report": report,
            "notes": m.get("notes") or [],
        }
    finally:
        bundle.close()
