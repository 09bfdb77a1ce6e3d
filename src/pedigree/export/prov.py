"""Runs as a W3C PROV-JSON document (https://www.w3.org/submissions/prov-json/).

- each run is an ``activity`` (start and end times, experiment, status, params, metrics);
- each artifact version (input or output, by digest), the code (commit + patch) and the software
  environment are ``entity`` records; a dataset version is an entity of type ``pedigree:Dataset``;
- the user who ran it is an ``agent`` (``prov:Person``), and Pedigree the recording software
  (``prov:SoftwareAgent``);
- relations: ``used`` (run used input, code, environment), ``wasGeneratedBy`` (output by run),
  ``wasAssociatedWith`` (run with user), ``wasDerivedFrom`` (each output from each input, through
  the run), and ``wasDerivedFrom`` of type ``pedigree:Reproduction`` between a reproduction's
  outputs and the original's.

Written with the standard library; the tests read it back with the ``prov`` package.

>>> record = {
...     "id": "0190e0a0-0000-7000-8000-000000000001", "experiment": "ma-crossover",
...     "status": "finished", "started_at": "2026-01-05T09:00:00Z", "params": {"window": 50},
...     "metrics": {"sharpe": 1.31}, "user": "maria", "code": {"commit": "a" * 40},
...     "environment": {}, "outputs": [{"path": "model.pkl", "digest": "blake3:" + "b" * 64}],
... }
>>> doc = document([record])
>>> sorted(doc)
['activity', 'agent', 'entity', 'prefix', 'used', 'wasAssociatedWith', 'wasGeneratedBy']
>>> doc["activity"]["run:0190e0a0-0000-7000-8000-000000000001"]["pedigree:param.window"]
50
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pedigree._version import __version__

__all__ = ["NAMESPACE", "document"]

NAMESPACE = "https://pedigree.dev/ns/prov#"
_PREFIXES = {
    "pedigree": NAMESPACE,
    "run": "https://pedigree.dev/ns/run/",
    "artifact": "https://pedigree.dev/ns/artifact/blake3/",
    "code": "https://pedigree.dev/ns/code/",
    "env": "https://pedigree.dev/ns/environment/blake3/",
    "user": "https://pedigree.dev/ns/user/",
}


def _hex(digest: str) -> str:
    return digest.partition(":")[2] or digest


def _literal(value: Any) -> Any:
    """PROV-JSON attribute values: strings, numbers, booleans; anything else as JSON text."""
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        from pedigree.jsonutil import public

        return public(value)
    return json.dumps(value, sort_keys=True)


class _Doc:
    def __init__(self) -> None:
        self.doc: dict[str, Any] = {"prefix": dict(_PREFIXES)}
        self.counter = 0

    def record(self, kind: str, ident: str, attrs: dict[str, Any]) -> None:
        section = self.doc.setdefault(kind, {})
        if ident in section:
            section[ident].update({k: v for k, v in attrs.items() if v is not None})
        else:
            section[ident] = {k: v for k, v in attrs.items() if v is not None}

    def relation(self, kind: str, attrs: dict[str, Any]) -> None:
        self.counter += 1
        self.doc.setdefault(kind, {})[f"_:{kind}{self.counter}"] = attrs


def _time(iso: str | None) -> str | None:
    return iso


def document(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The PROV-JSON document of run records (``Tracker.get_run`` with inputs and outputs)."""
    d = _Doc()
    d.record(
        "agent",
        "pedigree:pedigree",
        {"prov:type": "prov:SoftwareAgent", "prov:label": f"Pedigree {__version__}"},
    )
    outputs_of: dict[str, list[str]] = {}
    for rec in records:
        run = f"run:{rec['id']}"
        attrs: dict[str, Any] = {
            "prov:type": "pedigree:Run"
            if rec.get("kind") != "reproduction"
            else "pedigree:Reproduction",
            "prov:label": rec.get("name") or rec["experiment"],
            "prov:startTime": _time(rec["started_at"]),
            "prov:endTime": _time(rec.get("ended_at")),
            "pedigree:experiment": rec["experiment"],
            "pedigree:status": rec["status"],
            "pedigree:exitCode": rec.get("exit_code"),
            "pedigree:command": _literal(rec.get("command")),
            "pedigree:seed": rec.get("seed"),
            "pedigree:params": _literal(rec["params"]),
            "pedigree:metrics": _literal(rec["metrics"]),
        }
        for key, value in rec["params"].items():
            attrs[f"pedigree:param.{key}"] = _literal(value)
        for key, value in rec["metrics"].items():
            attrs[f"pedigree:metric.{key}"] = _literal(value)
        d.record("activity", run, attrs)

        user = rec.get("user") or "unknown"
        d.record("agent", f"user:{user}", {"prov:type": "prov:Person", "prov:label": user})
        d.relation("wasAssociatedWith", {"prov:activity": run, "prov:agent": f"user:{user}"})
        d.relation("wasAssociatedWith", {"prov:activity": run, "prov:agent": "pedigree:pedigree"})

        code = rec["code"]
        if code.get("commit"):
            ident = f"code:{code['commit']}"
            if code.get("patch_digest"):
                ident += f"-{_hex(code['patch_digest'])[:16]}"
            d.record(
                "entity",
                ident,
                {
                    "prov:type": "pedigree:Code",
                    "prov:label": f"commit {code['commit'][:12]}"
                    + (" with uncommitted changes" if code.get("dirty") else ""),
                    "pedigree:commit": code["commit"],
                    "pedigree:branch": code.get("branch"),
                    "pedigree:remote": code.get("remote"),
                    "pedigree:patchDigest": code.get("patch_digest"),
                },
            )
            d.relation("used", {"prov:activity": run, "prov:entity": ident})
        env = rec["environment"]
        if env.get("digest"):
            ident = f"env:{_hex(env['digest'])}"
            d.record(
                "entity",
                ident,
                {
                    "prov:type": "pedigree:Environment",
                    "prov:label": f"Python {env.get('python')}",
                    "pedigree:digest": env["digest"],
                    "pedigree:python": env.get("python"),
                    "pedigree:platform": env.get("platform"),
                    "pedigree:packages": _literal(env.get("packages") or []),
                },
            )
            d.relation("used", {"prov:activity": run, "prov:entity": ident})

        inputs = []
        for item in rec.get("inputs") or []:
            ident = _artifact(d, item)
            inputs.append(ident)
            d.relation(
                "used",
                {"prov:activity": run, "prov:entity": ident, "pedigree:path": item["path"]},
            )
        outs = []
        for item in rec.get("outputs") or []:
            ident = _artifact(d, item)
            outs.append(ident)
            d.relation(
                "wasGeneratedBy",
                {
                    "prov:entity": ident,
                    "prov:activity": run,
                    "prov:time": _time(rec.get("ended_at")),
                    "pedigree:path": item["path"],
                },
            )
            for used in inputs:
                if used != ident:
                    d.relation(
                        "wasDerivedFrom",
                        {
                            "prov:generatedEntity": ident,
                            "prov:usedEntity": used,
                            "prov:activity": run,
                        },
                    )
        outputs_of[rec["id"]] = outs

    for rec in records:
        rep = rec.get("reproduction_of")
        if rep and rep["original"] in outputs_of:
            d.record("activity", f"run:{rec['id']}", {"pedigree:verdict": rep["verdict"]})
            for new in outputs_of[rec["id"]]:
                for old in outputs_of[rep["original"]]:
                    if new != old:
                        d.relation(
                            "wasDerivedFrom",
                            {
                                "prov:generatedEntity": new,
                                "prov:usedEntity": old,
                                "prov:type": "pedigree:Reproduction",
                            },
                        )
    return d.doc


def _artifact(d: _Doc, item: dict[str, Any]) -> str:
    ident = f"artifact:{_hex(item['digest'])}"
    datasets = item.get("datasets") or []
    d.record(
        "entity",
        ident,
        {
            "prov:type": "pedigree:Dataset" if datasets else "pedigree:Artifact",
            "prov:label": datasets[0] if datasets else item["path"],
            "pedigree:digest": item["digest"],
            "pedigree:size": item.get("size"),
            "pedigree:kind": item.get("kind"),
            "pedigree:datasets": _literal(datasets) if datasets else None,
        },
    )
    return ident
