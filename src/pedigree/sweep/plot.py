"""The chart a researcher looks at after a sweep: a metric against a parameter, one line per group.

Drawn with matplotlib's Agg renderer on a bare ``Figure`` (no pyplot, no display, no global
state), imported only here. The PNG is also recorded as an output of the sweep run (event
``run.attached``), its bytes kept in the object store::

    report = load_report(ctx, "last")
    result = plot_sweep(report, x="window", y="sharpe", by="instrument", out=Path("s.png"))
    attach_output(ctx, report.id, result.path)

Which trials are drawn: the finished ones that reported ``y``. Trials are grouped into one line
per value of ``by`` and of every other varied parameter (so no two points of a line share an
x). In a one-at-a-time sweep only the trials that hold the other parameters at their base are
drawn. A numeric ``x`` is an axis of numbers; anything else is drawn in the order of the sweep.
The best trial (by the sweep's metric) is marked with a star when it is on the chart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedigree.errors import Conflict, InvalidInput
from pedigree.sweep.grid import ONE_AT_A_TIME, format_value
from pedigree.sweep.results import SweepReport, load_report

if TYPE_CHECKING:
    from pedigree.context import Context

__all__ = ["PlotResult", "Series", "SweepPlot", "attach_output", "draw", "plot_sweep", "series_for"]

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 5.0, 120  # 960 x 600 pixels


@dataclass
class Series:
    label: str
    xs: list[Any] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlotResult:
    path: Path
    series: list[Series]
    points: int
    width: int
    height: int


@dataclass(frozen=True)
class SweepPlot:
    """What ``pedigree plot`` drew and where, and the path it is recorded at (None when the PNG
    is outside the project)."""

    sweep: str
    path: Path
    recorded_as: str | None
    x: str
    y: str
    by: str | None
    result: PlotResult

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "recorded_as": self.recorded_as,
            "sweep": self.sweep,
            "x": self.x,
            "y": self.y,
            "by": self.by,
            "points": self.result.points,
            "series": [s.label for s in self.result.series],
            "width": self.result.width,
            "height": self.result.height,
        }


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def series_for(report: SweepReport, *, x: str, y: str, by: str | None = None) -> list[Series]:
    """The lines to draw; raises InvalidInput for names the sweep does not have."""
    spec = report.spec
    params = list(spec.params)
    for t in report.trials:
        params += [k for k in t.params if k not in params]
    for flag, name in (("--x", x), ("--by", by)):
        if name is not None and name not in params:
            raise InvalidInput(
                f"{flag} {name}: sweep {report.id} has no parameter {name!r}",
                hint=f"its parameters: {', '.join(params)}",
            )
    if by is not None and by == x:
        raise InvalidInput("--by must name another parameter than --x")
    metrics = report.metric_names()
    if y not in metrics:
        raise InvalidInput(
            f"no trial of sweep {report.id} reported the metric {y!r}",
            hint=f"reported: {', '.join(metrics)}" if metrics else "no trial reported a metric",
        )
    others = [k for k in spec.varied if k not in (x, by)]
    base = spec.base
    groups: dict[tuple[Any, ...], Series] = {}
    for t in report.trials:
        value = t.value(y)
        if t.status != "finished" or value is None or x not in t.params:
            continue
        if spec.mode == ONE_AT_A_TIME and any(t.params.get(k) != base[k] for k in others):
            continue
        keys = ([by] if by else []) + ([] if spec.mode == ONE_AT_A_TIME else others)
        if by is not None and keys == [by]:
            label = format_value(t.params.get(by))  # the legend's title names it
        else:
            label = " ".join(f"{k}={format_value(t.params.get(k))}" for k in keys)
        group = tuple(repr(t.params.get(k)) for k in keys)
        s = groups.setdefault(group, Series(label or y))
        s.xs.append(t.params[x])
        s.ys.append(value)
        s.ids.append(t.id)
    if not groups:
        raise InvalidInput(f"no finished trial of sweep {report.id} has both {x} and {y}")
    # Lines in the order the sweep lists the values (the order the user gave them).
    keys = ([by] if by else []) + ([] if spec.mode == ONE_AT_A_TIME else others)
    positions = {k: {repr(v): i for i, v in enumerate(spec.params.get(k, []))} for k in keys}

    def rank(group: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(positions[k].get(g, 1 << 30) for k, g in zip(keys, group, strict=True))

    return [groups[g] for g in sorted(groups, key=lambda g: (rank(g), g))]


def plot_sweep(
    report: SweepReport, *, x: str, y: str, by: str | None = None, out: Path
) -> PlotResult:
    """Draw ``y`` against ``x`` for the sweep's trials into the PNG ``out`` (written atomically)."""
    series = series_for(report, x=x, y=y, by=by)
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise InvalidInput("pedigree plot needs matplotlib: pip install 'pedigree[plot]'") from None

    numeric = all(_is_number(v) for s in series for v in s.xs)
    categories: list[Any] = []
    if not numeric:
        for v in [*report.spec.params.get(x, []), *(v for s in series for v in s.xs)]:
            if v not in categories:
                categories.append(v)

    def position(v: Any) -> float:
        return float(v) if numeric else float(categories.index(v))

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    best = report.best
    best_point: tuple[float, float] | None = None
    for s in series:
        pts = sorted(zip((position(v) for v in s.xs), s.ys, s.ids, strict=True))
        ax.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            marker="o",
            markersize=4,
            linewidth=1.6,
            label=s.label if (by or len(series) > 1) else None,
        )
        for px, py, pid in pts:
            if best is not None and pid == best.id and report.spec.metric == y:
                best_point = (px, py)
    if best_point is not None:
        ax.plot(
            *best_point,
            marker="*",
            markersize=16,
            color="black",
            linestyle="none",
            label="best",
            zorder=5,
        )
    lo, hi = ax.get_ylim()
    if lo < 0 < hi:
        ax.axhline(0.0, color="grey", linewidth=0.8, zorder=0)
    if not numeric:
        ax.set_xticks(range(len(categories)), [format_value(c) for c in categories])
    else:
        ticks = sorted({position(v) for s in series for v in s.xs})
        if len(ticks) <= 12:  # a sweep's few values make better ticks than round numbers
            ax.set_xticks(ticks, [format_value(v) for v in _tick_labels(series, ticks)])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.grid(True, alpha=0.3)
    experiment = report.sweep.get("experiment") or ""
    ax.set_title(
        f"{y} against {x}" + (f" by {by}" if by else "") + f" - sweep {report.id} ({experiment})",
        fontsize=11,
    )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(title=by, fontsize=9, title_fontsize=9, loc="best")
    out = Path(out)
    if not out.parent.is_dir():
        raise InvalidInput(f"folder {out.parent} does not exist")
    # No software version in the metadata: the same sweep gives the same bytes.
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    width, height = (round(v) for v in fig.get_size_inches() * DPI)
    return PlotResult(out, series, sum(len(s.xs) for s in series), width, height)


def _tick_labels(series: list[Series], ticks: list[float]) -> list[Any]:
    """The parameter values at the tick positions, as the sweep wrote them (20, not 20.0)."""
    by_position: dict[float, Any] = {}
    for s in series:
        for v in s.xs:
            by_position.setdefault(float(v), v)
    return [by_position[t] for t in ticks]


def attach_output(ctx: Context, run_id: str, path: Path, *, at: Path | None = None) -> str | None:
    """Record ``path`` as an output of the run (even after it ended); its bytes are stored.

    ``at`` is the path to record when the bytes are still in a staging file (``path``), so that a
    conflict leaves the real file alone. Returns the recorded project-relative path, or None when
    the file is outside the project (not recorded: lineage only tracks the project's files).
    Attaching the same bytes at the same path again is a no-op; other bytes at a recorded path
    are a Conflict.
    """
    from pedigree.store.events import RunAttached

    try:
        rel = (at or path).resolve().relative_to(ctx.project.root.resolve()).as_posix()
    except ValueError:
        return None
    digest = str(ctx.objects.put_file(path))
    size = path.stat().st_size
    with ctx.read() as reader:
        files = reader.run_files(run_id)
    known = next((f.digest for f in files if f.role == "output" and f.path == rel), None)
    if known == digest:
        return rel
    if known is not None:
        raise Conflict(
            f"run {run_id} already has another file recorded at {rel}",
            hint="write the plot under another name (-o)",
        )
    item = {"path": rel, "digest": digest, "size": size, "kind": "file"}
    ctx.append([RunAttached(run_id=run_id, items=[item])])
    return rel


def draw(
    ctx: Context,
    ref: str,
    *,
    x: str | None = None,
    y: str | None = None,
    by: str | None = None,
    output: Path | None = None,
) -> SweepPlot:
    """Plot the sweep ``ref`` into ``output`` (default ``<y>_vs_<x>.png``) and record the PNG as
    an output of the sweep run. ``x`` defaults to the only varied parameter, ``y`` to the
    sweep's metric. The PNG is written beside its final name first, so that a refused record
    (another file at that path) leaves an existing file alone."""
    report = load_report(ctx, ref)
    spec = report.spec
    if x is None:
        candidates = [k for k in spec.varied if k != by]
        if len(candidates) != 1:
            raise InvalidInput(
                "say which parameter goes on the x axis: --x NAME",
                hint=f"the sweep varies {', '.join(spec.varied) or 'nothing'}",
            )
        x = candidates[0]
    if y is None:
        if spec.metric is None:
            raise InvalidInput("say which metric goes on the y axis: --y NAME")
        y = spec.metric
    out = output or Path(f"{y}_vs_{x}.png")
    if out.suffix.lower() != ".png":
        raise InvalidInput(f"-o {out}: the plot is a PNG; name it *.png")
    staging = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        result = plot_sweep(report, x=x, y=y, by=by, out=staging)
        recorded = attach_output(ctx, report.id, staging, at=out)
        os.replace(staging, out)
    finally:
        staging.unlink(missing_ok=True)
    return SweepPlot(report.id, out, recorded, x, y, by, result)
