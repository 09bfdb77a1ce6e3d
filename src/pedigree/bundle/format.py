"""The evidence bundle's format: names, the manifest and its seal, safe member paths.

A bundle is a zip file (docs/bundle.md describes every member). ``manifest.json`` lists every
other member with its BLAKE3 digest and size, and carries a ``seal``: the BLAKE3 digest of the
manifest's canonical JSON without the ``seal`` key. The manifest is stored as that canonical
JSON, so any changed byte either breaks the JSON or changes the seal.

>>> m = seal({"format": FORMAT, "version": VERSION, "members": []})
>>> check_seal(m)
True
>>> check_seal({**m, "version": 2})
False
>>> safe_name("objects/ab12"), safe_name("../etc/passwd"), safe_name("/abs"), safe_name("a\\\\b")
(True, False, False, False)
"""

from __future__ import annotations

import re
from typing import Any

import blake3

from pedigree.jsonutil import canonical_json

__all__ = [
    "FORMAT",
    "MANIFEST",
    "VERSION",
    "check_seal",
    "digest_bytes",
    "manifest_bytes",
    "safe_name",
    "seal",
]

FORMAT = "pedigree-bundle"
VERSION = 1
MANIFEST = "manifest.json"
EVENTS = "events/chain.jsonl"
CODE_BUNDLE = "code/repo.bundle"
CODE_INFO = "code/code.json"
REPORT = "report.html"
LINEAGE = "records/lineage.json"
MODEL = "records/model.json"
# Only these characters in a member's path segments: no drive letters, no backslashes, no
# control characters; "." and ".." segments are refused separately.
_SEGMENT = re.compile(r"^[A-Za-z0-9._@+=-]+$")


def digest_bytes(data: bytes) -> str:
    return "blake3:" + blake3.blake3(data).hexdigest()


def safe_name(name: str) -> bool:
    """True when ``name`` is a relative path that stays inside the folder it is extracted to."""
    if not name or name.startswith("/") or len(name) > 1024:
        return False
    parts = name.split("/")
    return all(p not in ("", ".", "..") and _SEGMENT.match(p) for p in parts)


def _unsealed(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.items() if k != "seal"}


def seal(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` with its ``seal`` (the digest of everything else in it)."""
    body = _unsealed(manifest)
    return {**body, "seal": digest_bytes(canonical_json(body).encode())}


def check_seal(manifest: dict[str, Any]) -> bool:
    return manifest.get("seal") == digest_bytes(canonical_json(_unsealed(manifest)).encode())


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return canonical_json(manifest).encode()
