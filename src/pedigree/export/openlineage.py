"""Runs as OpenLineage run events (spec 2-0-2), and posting them to a collector.

Each run becomes a START event and, once it has ended, a COMPLETE, FAIL or ABORT event. The job is
the experiment; inputs and outputs are datasets named by their project path, with their digest
as the dataset version. Run facets carry what OpenLineage has no standard facet for, as custom
facets with their own ``_producer`` and ``_schemaURL``: ``pedigree_params``,
``pedigree_metrics``, ``pedigree_code`` and ``pedigree_environment``.

``emit`` posts events to ``{url}/api/v1/lineage``, the endpoint of Marquez and of any
OpenLineage HTTP collector, with the standard library only.

>>> record = {
...     "id": "0190e0a0-0000-7000-8000-000000000001", "experiment": "ma-crossover",
...     "status": "finished", "started_at": "2026-01-05T09:00:00Z",
...     "ended_at": "2026-01-05T09:05:00Z", "params": {"window": 50}, "seed": 7,
...     "metrics": {"sharpe": 1.31}, "code": {}, "environment": {},
... }
>>> events = run_events(record, namespace="pedigree")
>>> [e["eventType"] for e in events]
['START', 'COMPLETE']
>>> events[1]["run"]["facets"]["pedigree_metrics"]["metrics"]
{'sharpe': 1.31}
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from pedigree._version import __version__
from pedigree.errors import RemoteError

__all__ = ["PRODUCER", "SCHEMA_URL", "emit", "run_events"]

SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
PRODUCER = f"https://github.com/pedigree-dev/pedigree/tree/v{__version__}"
_FACETS = "https://github.com/pedigree-dev/pedigree/blob/main/docs/openlineage"
_FACET_SCHEMAS = {
    "pedigree_params": f"{_FACETS}/PedigreeParamsRunFacet.json",
    "pedigree_metrics": f"{_FACETS}/PedigreeMetricsRunFacet.json",
    "pedigree_code": f"{_FACETS}/PedigreeCodeRunFacet.json",
    "pedigree_environment": f"{_FACETS}/PedigreeEnvironmentRunFacet.json",
    "pedigree_artifact": f"{_FACETS}/PedigreeArtifactDatasetFacet.json",
}
_STANDARD = "https://openlineage.io/spec/facets"
_END_TYPES = {"finished": "COMPLETE", "failed": "FAIL", "crashed": "FAIL", "killed": "ABORT"}


def _facet(name: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": _FACET_SCHEMAS[name], **fields}


def _standard(schema: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{_STANDARD}/{schema}", **fields}


def _number(value: float) -> float | str:
    # OpenLineage events are strict JSON: NaN and the infinities travel as strings.
    from pedigree.jsonutil import public

    out: float | str = public(value)
    return out


def _datasets(items: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    out = []
    for item in items:
        out.append(
            {
                "namespace": namespace,
                "name": item["path"],
                "facets": {
                    "version": _standard(
                        "1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
                        datasetVersion=item["digest"],
                    ),
                    "pedigree_artifact": _facet(
                        "pedigree_artifact",
                        digest=item["digest"],
                        size=item["size"],
                        kind=item["kind"],
                        datasets=item.get("datasets", []),
                    ),
                },
            }
        )
    return out


def run_events(
    record: dict[str, Any], *, namespace: str, dataset_namespace: str | None = None
) -> list[dict[str, Any]]:
    """The OpenLineage events of one run record (``Tracker.get_run``)."""
    ds_ns = dataset_namespace or namespace
    code = record["code"]
    env = record["environment"]
    run_facets: dict[str, Any] = {
        "pedigree_params": _facet("pedigree_params", params=record["params"], seed=record["seed"]),
        "pedigree_code": _facet(
            "pedigree_code",
            commit=code.get("commit"),
            branch=code.get("branch"),
            remote=code.get("remote"),
            dirty=code.get("dirty"),
            patchDigest=code.get("patch_digest"),
        ),
        "pedigree_environment": _facet(
            "pedigree_environment",
            digest=env.get("digest"),
            python=env.get("python"),
            platform=env.get("platform"),
            packagesDigest=env.get("packages_digest"),
            packages=[list(p) for p in env.get("packages") or []],
        ),
    }
    job_facets: dict[str, Any] = {
        "jobType": _standard(
            "2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
            processingType="BATCH",
            integration="PEDIGREE",
            jobType="EXPERIMENT_RUN",
        )
    }
    remote = code.get("remote")
    if remote and "://" in remote and code.get("commit"):
        job_facets["sourceCodeLocation"] = _standard(
            "1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet",
            type="git",
            url=remote,
            repoUrl=remote,
            version=code["commit"],
            **({"branch": code["branch"]} if code.get("branch") else {}),
        )
    job = {"namespace": namespace, "name": record["experiment"], "facets": job_facets}
    inputs = _datasets(record.get("inputs") or [], ds_ns)
    outputs = _datasets(record.get("outputs") or [], ds_ns)
    start = {
        "eventType": "START",
        "eventTime": record["started_at"],
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": record["id"], "facets": run_facets},
        "job": job,
        "inputs": inputs,
        "outputs": [],
    }
    events = [start]
    end_type = _END_TYPES.get(record["status"])
    if end_type is not None:
        end_facets = {
            **run_facets,
            "pedigree_metrics": _facet(
                "pedigree_metrics",
                metrics={k: _number(v) for k, v in record["metrics"].items()},
                exitCode=record.get("exit_code"),
            ),
        }
        if end_type != "COMPLETE" and record.get("error"):
            end_facets["errorMessage"] = _standard(
                "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
                message=record["error"],
                programmingLanguage="python",
            )
        events.append(
            {
                "eventType": end_type,
                "eventTime": record["ended_at"],
                "producer": PRODUCER,
                "schemaURL": SCHEMA_URL,
                "run": {"runId": record["id"], "facets": end_facets},
                "job": job,
                "inputs": inputs,
                "outputs": outputs,
            }
        )
    return events


def emit(url: str, events: list[dict[str, Any]], *, timeout: float = 30.0) -> int:
    """POST each event to ``{url}/api/v1/lineage``; returns how many were accepted."""
    endpoint = url.rstrip("/") + "/api/v1/lineage"
    if not endpoint.startswith(("http://", "https://")):
        from pedigree.errors import InvalidInput

        raise InvalidInput(f"--emit needs an http(s) URL, not {url!r}")
    sent = 0
    for event in events:
        body = json.dumps(event, allow_nan=False).encode()
        request = urllib.request.Request(
            endpoint,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": f"pedigree/{__version__}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace").strip()
            raise RemoteError(
                f"{endpoint} refused event {sent + 1} of {len(events)}: HTTP {exc.code}"
                + (f": {detail}" if detail else "")
            ) from exc
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteError(f"cannot reach {endpoint}: {reason}") from exc
        sent += 1
    return sent
