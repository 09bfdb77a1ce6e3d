"""Print the cases, write the dated summary, and publish the table in docs/performance.md."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .harness import Case

SECTION = "## Side by side with MLflow and DVC"
NO_EQUIVALENT = {
    "lineage": "no equivalent in MLflow or DVC",
    "search": "MLflow not loaded at this size",
}


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def fmt_ratio(r: float) -> str:
    if r >= 100:
        return f"{r:,.0f}x"
    if r >= 10:
        return f"{r:.1f}x"
    return f"{r:.2f}x"


def derived(case: Case) -> str:
    """What a case's numbers mean beyond seconds (throughput, overhead)."""
    med = case.medians
    if case.status != "ok" or not med:
        return ""
    if case.workload == "log_run":
        points = case.extra.get("points_per_run", 0)
        return "; ".join(f"{s} {points / t:,.0f} points/s" for s, t in med.items() if t > 0)
    if case.workload == "hash_data" and "cold" in case.name:
        size = case.extra.get("bytes", 0)
        return "; ".join(f"{s} {size / t / 1e9:.2f} GB/s" for s, t in med.items() if t > 0)
    if case.workload == "sweep":
        diff = case.differences.get("plain subprocess")
        if diff:
            return (
                f"Pedigree's overhead per trial {fmt_time(diff.median)} "
                f"({fmt_time(diff.min)} to {fmt_time(diff.max)})"
            )
    return ""


def print_case(case: Case) -> None:
    print(f"  {case.workload}: {case.name}", flush=True)
    if case.status != "ok":
        print(f"    {case.status.upper()}: {case.reason}", flush=True)
        return
    ratios = case.ratios
    for side in case.sides:
        line = f"    {side:<22} median {fmt_time(case.medians[side]):>10}"
        if side in ratios:
            r = ratios[side]
            verdict = _verdict(case, side, r.median).replace("**", "")
            line += (
                f"   ratio {side} / Pedigree {fmt_ratio(r.median)} "
                f"(min {fmt_ratio(r.min)}, max {fmt_ratio(r.max)}): {verdict}"
            )
        print(line, flush=True)
    extra = derived(case)
    if extra:
        print(f"    {extra}", flush=True)
    print(
        f"    {case.pairs} counted rounds after {case.warmup} warm-up, order "
        f"{' '.join(case.order[: 2 * len(case.sides)])} ...; load {case.load[0]:.2f} -> "
        f"{case.load[1]:.2f}; {case.seconds:.0f} s",
        flush=True,
    )


def summary(cases: list[Case], header: dict[str, Any]) -> dict[str, Any]:
    return {**header, "cases": [c.to_json() for c in cases]}


def write_summary(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")


def _verdict(case: Case, other: str, ratio: float) -> str:
    if case.roles.get(other) == "reference":
        return "reference (the floor)" if ratio < 1 else "faster than the reference"
    return "Pedigree faster" if ratio > 1 else "**Pedigree slower** (see below)"


def table(cases: list[Case]) -> list[str]:
    rows = [
        "| workload | case | rounds | time per | Pedigree | compared with | its time "
        "| ratio (its time / Pedigree's): median (min to max) | |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        lead = f"| {case.workload} | {case.name} | {case.pairs} | {case.unit}"
        if case.status != "ok":
            rows.append(f"{lead} | {case.status}: {case.reason} | | | | |")
            continue
        med = case.medians
        mine = fmt_time(med[case.subject])
        others = case.sides[1:]
        if not others:
            why = NO_EQUIVALENT.get(case.workload, "Pedigree alone")
            rows.append(f"{lead} | {mine} | none ({why}) | | | |")
            continue
        for other in others:
            r = case.ratios[other]
            rows.append(
                f"{lead} | {mine} | {other} | {fmt_time(med[other])} | "
                f"{fmt_ratio(r.median)} ({fmt_ratio(r.min)} to {fmt_ratio(r.max)}) | "
                f"{_verdict(case, other, r.median)} |"
            )
    return rows


def slower_than_anchors(cases: list[Case]) -> str:
    """One line: where Pedigree's median is slower than MLflow's or DVC's (or that it is not)."""
    slower = [
        f"{c.workload} {c.name} (vs {other}: {fmt_ratio(r.median)})"
        for c in cases
        if c.status == "ok"
        for other, r in c.ratios.items()
        if c.roles.get(other) == "anchor" and r.median < 1
    ]
    failed = [f"{c.workload} {c.name}" for c in cases if c.status != "ok"]
    text = (
        "**Pedigree is slower than an anchor** in: " + "; ".join(slower) + " (why: below)."
        if slower
        else "Pedigree is faster than MLflow and DVC in every case's median ratio of this run."
    )
    if failed:
        text += " Not measured: " + "; ".join(failed) + "."
    return text


def section(cases: list[Case], header: dict[str, Any], body: str) -> str:
    m = header["machine"]
    v = header["versions"]
    lines = [
        SECTION,
        "",
        f"Measured {header['date']} by `make bench-compare` on {m['cores']} cores, "
        f"{m['memory_gib']:.0f} GiB ({m['cpu']}), Python {m['python']}, SQLite "
        f"{v['sqlite']}; Pedigree {v['pedigree']} (commit {v['git_commit']}), MLflow "
        f"{v['mlflow']}, DVC {v['dvc']} (dvc-data {v['dvc-data']}). Load average (1 min) "
        f"{header['load']['start']:.2f} at the start, {header['load']['end']:.2f} at the end. "
        f"Summary: `{header['summary_path']}`.",
        "",
        *table(cases),
        "",
    ]
    notes = [f"- {c.workload}, {c.name}: {derived(c)}" for c in cases if derived(c)]
    if notes:
        lines += ["Derived from the medians:", "", *notes, ""]
    lines += [slower_than_anchors(cases), "", body.strip(), ""]
    return "\n".join(lines)


def publish(doc: Path, text: str) -> None:
    """Replace the section (up to the next ``## `` heading) in ``doc``; nothing else changes."""
    current = doc.read_text()
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if not pattern.search(current):
        new = current.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n"
    else:
        new = pattern.sub(lambda _: text.rstrip("\n") + "\n\n", current, count=1)
        new = new.rstrip("\n") + "\n"
    doc.write_text(new)
