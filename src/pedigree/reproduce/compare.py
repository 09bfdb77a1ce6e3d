"""Judging a reproduction: outputs, standard output and metrics against the original.

Verdicts:

- ``identical``: every output digest and the standard output are equal, and every metric;
- ``equivalent``: some digests or metric values differ, but every metric is within the
  tolerance (a metric can differ while the outputs do not, e.g. with ``--ignore-stdout``);
- ``diverged``: a metric is outside the tolerance or missing, or digests differ with no metric
  to judge equivalence by;
- ``failed``: the run could not be reproduced at all (decided before comparing anything).

A metric is within tolerance when ``|a - b| <= atol + rtol * |a|`` (NaN equals NaN).

>>> judged = compare(
...     outputs={"out/model.txt": ("blake3:5c0f", "blake3:5c0f")},
...     stdout=("blake3:01ab", "blake3:01ab"),
...     metrics=({"sharpe": 1.31}, {"sharpe": 1.3100000001}),
...     rtol=1e-9,
...     atol=0.0,
... )
>>> judged["verdict"], judged["differences"]
('equivalent', [])
"""

from __future__ import annotations

import math
from typing import Any

from pedigree.errors import InvalidInput

__all__ = ["EXIT_CODES", "VERDICTS", "check_tolerance", "compare", "within"]

VERDICTS = ("identical", "equivalent", "diverged", "failed")
EXIT_CODES = {"identical": 0, "equivalent": 0, "diverged": 1, "failed": 2}


def check_tolerance(name: str, value: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidInput(f"{name} must be a number, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(f"{name} must be a finite number >= 0, not {value}")
    return float(value)


def within(a: float, b: float, *, rtol: float, atol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(a)


def compare(
    *,
    outputs: dict[str, tuple[str | None, str | None]],
    stdout: tuple[str | None, str | None] | None,
    metrics: tuple[dict[str, float], dict[str, float]],
    rtol: float,
    atol: float,
) -> dict[str, Any]:
    """Compare what the original and the reproduction produced; returns details and verdict.

    ``outputs`` maps a path to (original digest, reproduced digest or None when missing);
    ``stdout`` is the pair of digests, or None when standard output is not judged.
    """
    differences: list[str] = []
    out_items = []
    for path in sorted(outputs):
        a, b = outputs[path]
        same = a is not None and a == b
        out_items.append({"path": path, "original": a, "reproduced": b, "same": same})
        if b is None:
            differences.append(f"output {path} was not produced")
        elif not same:
            differences.append(f"output {path} differs ({_short(a)} -> {_short(b)})")
    stdout_item = None
    if stdout is not None:
        stdout_item = {
            "original": stdout[0],
            "reproduced": stdout[1],
            "same": stdout[0] == stdout[1],
        }
        if not stdout_item["same"]:
            differences.append("the standard output differs")
    orig, rep = metrics
    metric_items = []
    metrics_ok = True
    for key in sorted(orig.keys() | rep.keys()):
        a_v, b_v = orig.get(key), rep.get(key)
        if a_v is None or b_v is None:
            metrics_ok = False
            metric_items.append(
                {"key": key, "original": a_v, "reproduced": b_v, "same": False, "within": False}
            )
            differences.append(
                f"metric {key} was {'not reported' if b_v is None else 'not in the original'}"
            )
            continue
        same = a_v == b_v or (math.isnan(a_v) and math.isnan(b_v))
        ok = same or within(a_v, b_v, rtol=rtol, atol=atol)
        metrics_ok = metrics_ok and ok
        metric_items.append(
            {"key": key, "original": a_v, "reproduced": b_v, "same": same, "within": ok}
        )
        if not ok:
            differences.append(
                f"metric {key}: {a_v!r} -> {b_v!r} (outside rtol={rtol:g}, atol={atol:g})"
            )
    digests_same = all(i["same"] for i in out_items) and (
        stdout_item is None or stdout_item["same"]
    )
    if not metrics_ok:
        verdict = "diverged"
    elif digests_same and all(m["same"] for m in metric_items):
        verdict = "identical"
    elif metric_items:
        verdict = "equivalent"
    else:
        verdict = "diverged"
        differences.append("no metric was reported to judge the differing outputs by")
    return {
        "verdict": verdict,
        "outputs": out_items,
        "stdout": stdout_item,
        "metrics": metric_items,
        "differences": differences,
    }


def _short(digest: str | None) -> str:
    if not digest:
        return "-"
    return digest.partition(":")[2][:12] or digest
