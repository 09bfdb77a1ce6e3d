"""Importing an MLflow store: its runs become ordinary Pedigree runs, its registry Pedigree's.

Each MLflow run is recorded by one append of the same typed events every other path records a
run with (``run.created`` with its original start time and user, ``run.params``,
``run.metrics`` with every point's step, value and time, ``run.captured`` with the source commit
as the run's code commit, ``run.io`` with its artifacts as outputs, ``run.ended`` with its end
time), followed by an ``import.recorded`` event naming where it came from
(``mlflow:<run id>``). One append is one transaction: a run is imported whole or not at all,
and the marker is what a second import looks up to add nothing.

A run that cannot be imported (an artifact that cannot be read, a value Pedigree refuses, a
run MLflow still shows as running) is skipped with the reason, and the others are imported; the
report lists what was skipped. Registered model versions are imported as versions of the same
name (numbered in Pedigree's order; the MLflow number is kept in the marker), and aliases moved
to match, except the aliases Pedigree protects (``[models] protected_aliases``): those need an
independent approval here, which an import cannot give.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedigree.errors import PedigreeError
from pedigree.ids import new_id
from pedigree.interop.mlflow.source import (
    MlflowSource,
    SourceModel,
    SourceModelVersion,
    SourceRun,
    open_source,
)
from pedigree.store import events as ev

if TYPE_CHECKING:
    from pedigree.context import Context
    from pedigree.store.reader import Reader

__all__ = ["PREFIX", "ImportReport", "Skipped", "import_mlflow"]

PREFIX = "mlflow:"
# MLflow's run statuses, and the Pedigree status an ended one is recorded with.
STATUSES = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}
# Runs read from MLflow per batch (their metric histories are read together), and recorded per
# append (one transaction: a sync to disk per append, not per run).
BATCH = 200
APPEND = 50
# What a run's code record can hold (the store's column is 64 characters).
_COMMIT_MAX = 64

Progress = Callable[[int, int], None]


def run_source(run_id: str) -> str:
    return f"{PREFIX}{run_id}"


def model_source(name: str, version: int) -> str:
    return f"{PREFIX}models:/{name}/{version}"


@dataclass
class Skipped:
    """Something the import left out, and why."""

    what: str  # run | model | alias
    ref: str  # the MLflow run id, NAME/N or NAME@ALIAS
    name: str | None
    reason: str
    # False for what is left out on purpose, not for a failure: a run still running in MLflow
    # (a later import takes it), an alias Pedigree protects.
    error: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "ref": self.ref,
            "name": self.name,
            "reason": self.reason,
            "error": self.error,
        }

    def line(self) -> str:
        named = f" ({self.name})" if self.name else ""
        return f"{self.what} {self.ref}{named}: {self.reason}"


@dataclass
class ImportReport:
    """What an import found, added, had already, and skipped."""

    source: str
    experiments: int = 0
    runs_found: int = 0
    runs_imported: int = 0
    runs_already: int = 0
    metric_points: int = 0
    artifacts: int = 0
    model_versions_found: int = 0
    model_versions_imported: int = 0
    model_versions_already: int = 0
    aliases_moved: int = 0
    aliases_already: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)  # MLflow run id -> Pedigree run id
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        """Whether something could not be imported (not merely left for later)."""
        return any(s.error for s in self.skipped)

    @property
    def added(self) -> int:
        return self.runs_imported + self.model_versions_imported + self.aliases_moved

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "experiments": self.experiments,
            "runs": {
                "found": self.runs_found,
                "imported": self.runs_imported,
                "already_imported": self.runs_already,
                "skipped": sum(1 for s in self.skipped if s.what == "run"),
            },
            "metric_points": self.metric_points,
            "artifacts": self.artifacts,
            "model_versions": {
                "found": self.model_versions_found,
                "imported": self.model_versions_imported,
                "already_imported": self.model_versions_already,
                "skipped": sum(1 for s in self.skipped if s.what == "model"),
            },
            "aliases": {
                "moved": self.aliases_moved,
                "already": self.aliases_already,
                "skipped": sum(1 for s in self.skipped if s.what == "alias"),
            },
            "nothing_new": self.added == 0,
            "skipped": [s.to_json() for s in self.skipped],
            "imported_runs": self.runs,
            "seconds": round(self.seconds, 3),
        }


def import_mlflow(
    ctx: Context,
    uri: str,
    *,
    experiments: Sequence[str] = (),
    progress: Progress | None = None,
) -> ImportReport:
    """Import the MLflow store at ``uri`` (all its experiments, or those named) into the
    project: finished runs, then registered models, versions and aliases."""
    started = time.perf_counter()
    source = open_source(uri)
    report = ImportReport(source=source.shown)
    chosen = source.experiments(list(experiments) or None)
    report.experiments = len(chosen)
    runs = [r for page in source.runs(chosen) for r in page]
    report.runs_found = len(runs)
    with ctx.read() as reader:
        done = reader.imported_sources(PREFIX)
    pending: list[SourceRun] = []
    for r in runs:
        target = done.get(run_source(r.run_id))
        if target is not None:
            report.runs_already += 1
            report.runs[r.run_id] = target
        elif r.status not in STATUSES:
            report.skipped.append(
                Skipped(
                    "run",
                    r.run_id,
                    r.name,
                    f"it is {r.status.lower()} in MLflow; import again once it has ended",
                    error=False,
                )
            )
        else:
            pending.append(r)
    total = len(pending)
    if progress is not None:
        progress(0, total)
    count = 0
    with tempfile.TemporaryDirectory(prefix="pedigree-mlflow-") as tmp:
        for i in range(0, total, BATCH):
            batch = pending[i : i + BATCH]
            try:
                histories = source.histories(batch)
            except PedigreeError as exc:
                for r in batch:
                    report.skipped.append(Skipped("run", r.run_id, r.name, exc.message))
                histories = None
            if histories is None:
                count += len(batch)
                continue
            for j in range(0, len(batch), APPEND):
                group = batch[j : j + APPEND]
                ready = [
                    p
                    for r in group
                    if (p := _prepare_run(ctx, source, r, histories[r.run_id], Path(tmp), report))
                ]
                _record_runs(ctx, ready, report)
                count += len(group)
                if progress is not None:
                    progress(count, total)
        selected = {r.run_id for r in runs} if experiments else None
        _import_models(ctx, source, Path(tmp), report, selected)
    report.seconds = time.perf_counter() - started
    return report


# -- runs ---------------------------------------------------------------------------------------


@dataclass
class _Prepared:
    """A run read whole from MLflow, its artifacts stored, its events built."""

    run: SourceRun
    run_id: str
    events: list[ev.Event]
    points: int
    artifacts: int


def _prepare_run(
    ctx: Context,
    source: MlflowSource,
    run: SourceRun,
    history: dict[str, list[Any]],
    tmp: Path,
    report: ImportReport,
) -> _Prepared | None:
    """Read what the run's events need (its artifacts, into the object store) and build them;
    None, with the run skipped and named, when any of it cannot be read or recorded."""
    folder = tmp / run.run_id
    try:
        folder.mkdir()
        outputs, trees = _artifacts(ctx, source, run, folder)
        run_id = new_id()
        events = _run_events(ctx, source, run, run_id, history, outputs, trees)
    except PedigreeError as exc:
        report.skipped.append(Skipped("run", run.run_id, run.name, exc.message))
        return None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    points = sum(len(p) for p in history.values())
    return _Prepared(run, run_id, events, points, len(outputs))


def _record_runs(ctx: Context, ready: list[_Prepared], report: ImportReport) -> None:
    """Append the runs' events: together (one transaction, one sync to disk, for many runs),
    or, when the store refuses that, run by run, so that one bad run is skipped alone. Either
    way a run is recorded whole or not at all."""
    if not ready:
        return
    try:
        ctx.append([e for p in ready for e in p.events])
    except PedigreeError as exc:
        if len(ready) == 1:
            p = ready[0]
            report.skipped.append(Skipped("run", p.run.run_id, p.run.name, exc.message))
            return
        for p in ready:
            _record_alone(ctx, p, report)
        return
    _count(ready, report)


def _record_alone(ctx: Context, p: _Prepared, report: ImportReport) -> None:
    try:
        ctx.append(p.events)
    except PedigreeError as exc:
        report.skipped.append(Skipped("run", p.run.run_id, p.run.name, exc.message))
        return
    _count([p], report)


def _count(done: list[_Prepared], report: ImportReport) -> None:
    for p in done:
        report.runs_imported += 1
        report.runs[p.run.run_id] = p.run_id
        report.metric_points += p.points
        report.artifacts += p.artifacts


def _artifacts(
    ctx: Context, source: MlflowSource, run: SourceRun, folder: Path
) -> tuple[list[dict[str, Any]], list[ev.Event]]:
    """The run's artifacts stored in the object store: the ``run.io`` output items and the
    ``tree.recorded`` events of its folders."""
    from pedigree.data.snapshot import take

    items: list[dict[str, Any]] = []
    trees: dict[str, ev.Event] = {}
    for path, local in source.artifacts(run, folder):
        try:
            snap = take(folder, local, objects=ctx.objects)
        except PedigreeError as exc:
            raise type(exc)(f"artifact {path} cannot be read: {exc.message}") from None
        except OSError as exc:
            raise PedigreeError(f"artifact {path} cannot be read: {exc.strerror or exc}") from None
        if snap.kind == "dir":
            trees[str(snap.digest)] = ev.TreeRecorded(
                digest=str(snap.digest), entries=snap.tree_entries()
            )
        items.append(
            {
                "role": "output",
                "path": path,
                "digest": str(snap.digest),
                "size": snap.size,
                "kind": snap.kind,
                "declared": True,
                "modified": False,
            }
        )
    if trees:
        with ctx.read() as reader:
            known = {d for d in trees if reader.tree_known(d)}
        return items, [e for d, e in trees.items() if d not in known]
    return items, []


def _run_events(
    ctx: Context,
    source: MlflowSource,
    run: SourceRun,
    run_id: str,
    history: dict[str, list[Any]],
    outputs: list[dict[str, Any]],
    trees: list[ev.Event],
) -> list[ev.Event]:
    tags = run.tags
    started = run.start_time if run.start_time is not None else run.end_time
    if started is None:
        times = [p[2] for points in history.values() for p in points]
        started = min(times) if times else 0.0
    ended = run.end_time if run.end_time is not None else started
    events: list[ev.Event] = [
        ev.RunCreated(
            id=run_id,
            experiment=run.experiment,
            name=run.name,
            user=run.user,
            started_at=started,
        )
    ]
    if run.params:
        events.append(ev.RunParams(run_id=run_id, params=dict(run.params)))
    points = [[key, step, value, ts] for key, pts in history.items() for step, value, ts in pts]
    if points:
        events.append(ev.RunMetrics(run_id=run_id, points=points))
    commit = tags.get("mlflow.source.git.commit")
    code = {
        "commit": commit if commit and len(commit) <= _COMMIT_MAX else None,
        "branch": tags.get("mlflow.source.git.branch"),
        "remote": tags.get("mlflow.source.git.repoURL"),
    }
    if any(code.values()):
        events.append(ev.RunCaptured(run_id=run_id, code={**code, "dirty": None}))
    events += _tag_events(ctx, run_id, tags)
    events += trees
    if outputs:
        events.append(ev.RunIO(run_id=run_id, items=outputs))
    events.append(ev.RunEnded(run_id=run_id, status=STATUSES[run.status], ended_at=ended))
    events.append(
        ev.ImportRecorded(
            source=run_source(run.run_id),
            target_type="run",
            target=run_id,
            details={
                "tool": "mlflow",
                "tracking_uri": source.shown,
                "experiment_id": run.experiment_id,
                "run_id": run.run_id,
                "status": run.status,
                "artifact_uri": run.artifact_uri,
                "tags": tags,
            },
            actor=ctx.user,
            at=time.time(),
        )
    )
    return events


def _tag_events(ctx: Context, run_id: str, tags: dict[str, str]) -> list[ev.Event]:
    """The run's own tags (not MLflow's ``mlflow.*`` system tags, which map to fields or stay
    in the import's details) as Pedigree tags. A tag Pedigree cannot hold (a value with line
    breaks, longer than 5,000 characters) stays in the details only: the run still imports."""
    from pedigree.tracking.tags import tag_events

    kept: dict[str, str] = {}
    for key, value in tags.items():
        if key.startswith("mlflow."):
            continue
        try:
            ev.RunTagged(run_id=run_id, key=key, number=1, value=value)
        except PedigreeError:
            continue
        kept[key] = value
    return tag_events(run_id, kept, {}, actor=ctx.user) if kept else []


# -- the model registry -------------------------------------------------------------------------


def _import_models(
    ctx: Context,
    source: MlflowSource,
    tmp: Path,
    report: ImportReport,
    selected: set[str] | None,
) -> None:
    from pedigree.models.registry import check_alias, check_name, protected_aliases

    protected = set(protected_aliases(ctx.project))
    for model in source.models():
        versions = [
            v for v in model.versions if selected is None or (v.run_id and v.run_id in selected)
        ]
        if selected is not None and not versions:
            continue
        report.model_versions_found += len(versions)
        try:
            check_name(model.name)
            ev.ModelRegistered(name=model.name, version=1, digest="-", kind="file", size=0)
        except PedigreeError as exc:
            for v in versions:
                ref = f"{model.name}/{v.version}"
                report.skipped.append(Skipped("model", ref, None, exc.message))
            continue
        mapped: dict[int, int] = {}
        for v in versions:
            number = _import_version(ctx, source, v, tmp, report)
            if number is not None:
                mapped[v.version] = number
        for alias, mlflow_version in sorted(model.aliases.items()):
            if selected is not None and mlflow_version not in {v.version for v in versions}:
                continue
            ref = f"{model.name}@{alias}"
            if mlflow_version not in mapped:
                why = f"version {mlflow_version} was not imported"
                report.skipped.append(Skipped("alias", ref, None, why))
                continue
            try:
                check_alias(alias)
            except PedigreeError as exc:
                report.skipped.append(Skipped("alias", ref, None, exc.message))
                continue
            if alias in protected:
                report.skipped.append(
                    Skipped(
                        "alias",
                        ref,
                        None,
                        f"{alias} is protected here: it moves only to a version an independent "
                        f"reviewer approved (pedigree approve model:{model.name}/"
                        f"{mapped[mlflow_version]}, then pedigree model alias)",
                        error=False,
                    )
                )
                continue
            _move_alias(ctx, model, alias, mapped[mlflow_version], report)


def _import_version(
    ctx: Context, source: MlflowSource, v: SourceModelVersion, tmp: Path, report: ImportReport
) -> int | None:
    """Import one model version (or find it imported); its Pedigree number, or None when it
    was skipped."""
    from pedigree.data.snapshot import take

    key = model_source(v.name, v.version)
    with ctx.read() as reader:
        found = reader.imported([key, run_source(v.run_id or "-")])
    if key in found:
        report.model_versions_already += 1
        return int(found[key].rpartition("/")[2])
    ref = f"{v.name}/{v.version}"
    if v.status.upper() != "READY":
        report.skipped.append(Skipped("model", ref, None, f"its status in MLflow is {v.status}"))
        return None
    folder = tmp / f"model-{new_id()}"
    folder.mkdir()
    try:
        local = source.model_files(v, folder)
        snap = take(folder, local, objects=ctx.objects)
        run_id = found.get(run_source(v.run_id)) if v.run_id else None
        path = _path_in_run(v) if run_id else None
        made: list[int] = []

        def build(reader: Reader) -> list[ev.Event]:
            latest = reader.model_version(v.name)
            number = 1 if latest is None else latest.version + 1
            made.append(number)
            events: list[ev.Event] = []
            if snap.kind == "dir" and not reader.tree_known(str(snap.digest)):
                events.append(ev.TreeRecorded(digest=str(snap.digest), entries=snap.tree_entries()))
            events.append(
                ev.ModelRegistered(
                    name=v.name,
                    version=number,
                    digest=str(snap.digest),
                    kind=snap.kind,
                    size=snap.size,
                    run_id=run_id,
                    path=path,
                    note=v.description,
                    actor=ctx.user,
                    at=v.created if v.created is not None else time.time(),
                )
            )
            events.append(
                ev.ImportRecorded(
                    source=key,
                    target_type="model",
                    target=f"{v.name}/{number}",
                    details={
                        "tool": "mlflow",
                        "name": v.name,
                        "version": v.version,
                        "source": v.source,
                        "run_id": v.run_id,
                        "tags": v.tags,
                    },
                    actor=ctx.user,
                    at=time.time(),
                )
            )
            return events

        ctx.write(build)
    except PedigreeError as exc:
        report.skipped.append(Skipped("model", ref, None, exc.message))
        return None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report.model_versions_imported += 1
    return made[-1]


def _path_in_run(v: SourceModelVersion) -> str | None:
    """Where in its run's artifacts the version's files are (``runs:/<id>/model`` ->
    ``model``), when its source says so."""
    src = v.source or ""
    prefix = f"runs:/{v.run_id}/"
    if src.startswith(prefix):
        return src[len(prefix) :].strip("/") or None
    marker = f"/{v.run_id}/artifacts/"
    if marker in src:
        return src.split(marker, 1)[1].strip("/") or None
    return None


def _move_alias(
    ctx: Context, model: SourceModel, alias: str, version: int, report: ImportReport
) -> None:
    moved: list[bool] = []

    def build(reader: Reader) -> list[ev.Event]:
        moves = reader.alias_moves(model.name, alias)
        previous = moves[-1].version if moves else None
        if previous == version:
            moved.append(False)
            return []
        moved.append(True)
        return [
            ev.ModelAliasMoved(
                name=model.name,
                alias=alias,
                number=len(moves) + 1,
                version=version,
                previous=previous,
                actor=ctx.user,
                at=time.time(),
            )
        ]

    ctx.write(build)
    if moved[-1]:
        report.aliases_moved += 1
    else:
        report.aliases_already += 1
