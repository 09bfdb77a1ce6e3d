"""The one path from what a run's processes say to the events that record it.

A tracked process speaks in records (the ``t`` field names the type; see
:mod:`pedigree.client.spool`): ``params``, ``metrics``, ``seed``, ``attach``, ``use`` and
``produce``, ``opens`` (the files the audit hook saw), ``hello`` (its interpreter) and ``status``.
Under ``pedigree run`` they come through the spool and the launcher hands them to a
:class:`Recorder` in batches; a script recording itself hands them over one by one through a
:class:`StoreSink`. Either way the recorder turns them into typed events, and
:meth:`Recorder.finish` ends the run with what :func:`capture_run` captured and the files it
read and wrote.

>>> import os
>>> from pathlib import Path
>>> from pedigree.config import init_project
>>> from pedigree.context import Context
>>> from pedigree.tracking import recording
>>> ctx = Context(init_project()[0])
>>> run_id = recording.create_run(ctx, experiment="ma-crossover")
>>> recorder = Recorder(ctx, run_id)
>>> recorder.ingest([{"t": "params", "values": {"window": 50}}])
>>> capture = capture_run(ctx, argv=["python", "x.py"], cwd=os.getcwd(), env={},
...                       interpreter=THIS_INTERPRETER)
>>> recorder.finish("finished", capture=capture, cwd=Path.cwd())
>>> with ctx.read() as reader:
...     reader.run_rows([run_id])[run_id].status, reader.params([run_id])[run_id]
('finished', {'window': 50})
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pedigree.client.spool import RecordSink
from pedigree.context import Context
from pedigree.errors import PedigreeError
from pedigree.store import events as ev
from pedigree.tracking import recording

if TYPE_CHECKING:
    from pedigree.capture.code import CodeState
    from pedigree.capture.environment import Environment
    from pedigree.capture.filehook import Listener
    from pedigree.capture.files import FileCapture
    from pedigree.capture.notebooks import CellRecorder
    from pedigree.client.run import ActiveRun

__all__ = ["THIS_INTERPRETER", "Recorder", "RunCapture", "StoreSink", "capture_run", "start_run"]

# What a hello tells, when the interpreter is the one running this code: nothing to override.
THIS_INTERPRETER: Mapping[str, Any] = MappingProxyType({})
_UNSET: Any = object()


def _say(message: str) -> None:
    print(f"pedigree: {message}", file=sys.stderr)


@dataclass(frozen=True)
class RunCapture:
    """What a run ran: its code, its software environment (``None`` for a command that is not
    Python) and its invocation."""

    code: CodeState | None
    environment: Environment | None
    invocation: dict[str, Any]


def capture_run(
    ctx: Context,
    *,
    argv: Sequence[str],
    cwd: str,
    env: Mapping[str, str],
    interpreter: Mapping[str, Any] | None,
    code: CodeState | None = _UNSET,
) -> RunCapture:
    """Capture a run's code (unless given: the launcher takes it before the command can change
    it), the environment of ``interpreter`` (the ``hello`` a process of the run sent, or
    :data:`THIS_INTERPRETER`) and the invocation."""
    from pedigree.capture import capture_code, capture_environment, capture_invocation

    if code is _UNSET:
        code = capture_code(cwd, ctx.objects)
    environment = None
    if interpreter is not None:
        path = interpreter.get("path")
        environment = capture_environment(
            executable=interpreter.get("executable"),
            python_version=interpreter.get("version"),
            implementation=interpreter.get("implementation"),
            sys_path=None if interpreter is THIS_INTERPRETER else list(path or []),
            cache_dir=ctx.project.cache_dir,
        )
    invocation = capture_invocation(argv, cwd, env, ctx.project.capture_env)
    return RunCapture(code, environment, invocation)


class Recorder:
    """Turns the records of one run into events, and ends it.

    ``fixed`` names the fields (``experiment``, ``name``) the launch set, which a script's
    ``start_run(...)`` does not override; ``declared`` the ``(role, path)`` pairs declared
    before the run started.
    """

    def __init__(
        self,
        ctx: Context,
        run_id: str,
        *,
        fixed: Collection[str] = (),
        declared: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.ctx = ctx
        self.run_id = run_id
        self.fixed = frozenset(fixed)
        self.hellos: list[dict[str, Any]] = []
        self.declared: list[tuple[str, str]] = list(declared)
        self.models: list[tuple[str, str]] = []  # (model name, absolute path): run.log_model
        self.files: list[dict[str, Any]] = []
        self.declared_params: set[str] = set()
        self.reported_status: tuple[str, str | None] | None = None
        self.tag_numbers: dict[str, int] = {}  # the last change number of each tag set here

    def events(self, rec: Mapping[str, Any]) -> list[ev.Event]:
        """The events one record makes (none for those kept until the end); raises
        :class:`~pedigree.errors.PedigreeError` for a bad value."""
        t = rec.get("t")
        rid = self.run_id
        if t == "hello":
            self.hellos.append(dict(rec))
        elif t == "params" and isinstance(rec.get("values"), dict):
            event = ev.RunParams(run_id=rid, params=rec["values"])
            self.declared_params.update(rec.get("declared") or ())
            return [event]
        elif t == "metrics" and isinstance(rec.get("points"), list):
            return [ev.RunMetrics(run_id=rid, points=rec["points"])]
        elif t == "attach":
            fields = {
                k: rec[k] for k in ("experiment", "name") if rec.get(k) and k not in self.fixed
            }
            if fields:
                return [ev.RunUpdated(run_id=rid, **fields)]
        elif t == "seed" and isinstance(rec.get("seed"), int):
            return [ev.RunUpdated(run_id=rid, seed=rec["seed"])]
        elif t in ("use", "produce") and isinstance(rec.get("path"), str):
            self.declared.append(("input" if t == "use" else "output", rec["path"]))
        elif t == "model" and isinstance(rec.get("path"), str) and isinstance(rec.get("name"), str):
            self.models.append((rec["name"], rec["path"]))
        elif t == "tags" and isinstance(rec.get("values"), dict):
            return self._tag_events(rec["values"])
        elif t == "opens":  # files the audit hook saw (pedigree.data.capture)
            self.files.append(dict(rec))
        elif t == "status" and rec.get("status") in ("failed", "killed"):
            self.reported_status = (rec["status"], rec.get("error"))
        return []

    def _tag_events(self, values: Mapping[str, Any]) -> list[ev.Event]:
        """``start_run(tags=...)`` under ``pedigree run``, or ``run.set_tags``: numbered after the
        store's changes of each key and the ones made here not yet written."""
        from pedigree.tracking.tags import tag_events
        from pedigree.values import check_tags

        tags = check_tags(dict(values))
        with self.ctx.read() as reader:
            numbers = reader.tag_numbers(self.run_id)
        for key, n in self.tag_numbers.items():
            numbers[key] = max(numbers.get(key, 0), n)
        events = tag_events(self.run_id, tags, numbers, actor=self.ctx.user)
        for e in events:
            assert isinstance(e, ev.RunTagged)
            self.tag_numbers[e.key] = e.number
        return events

    def take(self, rec: Mapping[str, Any]) -> None:
        """Record one record now; a bad value or a refusal raises (the SDK in-process)."""
        events = self.events(rec)
        if events:
            self.ctx.append(events)

    def ingest(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Record a batch of records (from the spool) in one write. One bad record must not cost
        the others: it is reported on stderr and left out."""
        events: list[ev.Event] = []
        for rec in records:
            try:
                events += self.events(rec)
            except PedigreeError as exc:
                _say(f"not recorded: {exc}")
        if not events:
            return
        try:
            self.ctx.append(events)
        except PedigreeError:
            # A refusal by the store (a param changed, the run ended): retry one by one.
            for event in events:
                try:
                    self.ctx.append([event])
                except PedigreeError as exc:
                    _say(f"not recorded: {exc}")

    def interpreter(self, child_pid: int) -> dict[str, Any] | None:
        """The hello of the command's own process, else of the first Python process heard."""
        for h in self.hellos:
            if h.get("pid") == child_pid:
                return h
        return self.hellos[0] if self.hellos else None

    def finish(
        self,
        status: str,
        *,
        capture: RunCapture | None,
        cwd: Path,
        exit_code: int | None = None,
        error: str | None = None,
        stdout_digest: str | None = None,
        stderr_digest: str | None = None,
        files: FileCapture | None = None,
    ) -> None:
        """End the run with its status, what it ran (``capture``), the files it read and
        wrote and how complete that file capture is (``files``, kept with the invocation as
        ``capture``), in one write. What cannot be captured is reported; the run still ends."""
        events: list[ev.Event] = []
        try:
            mark = {"capture": files.to_json()} if files is not None else {}
            if capture is not None or files is not None:
                events = recording.capture_events(
                    self.ctx,
                    self.run_id,
                    code=capture.code if capture is not None else None,
                    environment=capture.environment if capture is not None else None,
                    invocation={**(capture.invocation if capture is not None else {}), **mark},
                )
            events += _io_events(self.ctx, self.run_id, self.declared, cwd, self.files)
        except PedigreeError as exc:
            _say(str(exc))
        recording.end_run(
            self.ctx,
            self.run_id,
            status,
            exit_code=exit_code,
            error=error,
            stdout_digest=stdout_digest,
            stderr_digest=stderr_digest,
            extra_events=events,
        )
        self._register_models()

    def _register_models(self) -> None:
        """Register the outputs ``run.log_model`` named, once the run has recorded them."""
        if not self.models:
            return
        from pedigree.data.hashing import relpath_in
        from pedigree.models.registry import register

        for name, path in self.models:
            try:
                rel = relpath_in(self.ctx.project.root, path)
                version = register(self.ctx, name, f"{self.run_id}:{rel}")
            except PedigreeError as exc:
                _say(f"model {name} not registered: {exc}")
            else:
                _say(f"registered model {version.ref} ({rel})")


def _io_events(
    ctx: Context,
    run_id: str,
    declared: Sequence[tuple[str, str]],
    cwd: Path,
    files: Sequence[dict[str, Any]],
) -> list[ev.Event]:
    """The events linking a run to its inputs and outputs (see :mod:`pedigree.data.linking`)."""
    from pedigree.data.linking import io_events

    return io_events(ctx, run_id, declared, cwd, files)


class StoreSink(RecordSink):
    """Records a run from inside the process that runs it (the SDK outside ``pedigree run``).

    It hands the :class:`~pedigree.client.run.ActiveRun`'s records straight to a
    :class:`Recorder` (a refusal raises in the script, as the store's own would), captures
    what the run runs in a background thread and beats for it in another.
    """

    def __init__(self, ctx: Context, run_id: str) -> None:
        self.recorder = Recorder(ctx, run_id)
        self.ctx = ctx
        self.run_id = run_id
        self._capture: RunCapture | None = None
        self._capture_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        # The heartbeat thread flushes buffered metrics too: one record at a time.
        self._write_lock = threading.Lock()
        self._files: Listener | None = None
        self._cells: CellRecorder | None = None

    def start(self, run: ActiveRun) -> None:
        from pedigree.capture.filehook import listen

        # What the script opens from now until the run ends (pedigree.capture.filehook).
        self._files = listen()
        # In a Jupyter kernel: the cells executed while the run is active.
        from pedigree.capture.notebooks import CellRecorder

        self._cells = CellRecorder()
        if not self._cells.start():
            self._cells = None
        self._capture_thread = threading.Thread(
            target=self._run_capture, name=f"pedigree-capture-{self.run_id[:8]}", daemon=True
        )
        self._capture_thread.start()
        self._heartbeat = threading.Thread(
            target=self._beat, args=(run,), name=f"pedigree-beat-{self.run_id[:8]}", daemon=True
        )
        self._heartbeat.start()

    def _run_capture(self) -> None:
        try:
            self._capture = capture_run(
                self.ctx,
                argv=[sys.executable, *sys.argv],
                cwd=os.getcwd(),
                env=os.environ,
                interpreter=THIS_INTERPRETER,
            )
        except Exception as exc:  # capture must never break the script it records
            _say(f"capture failed: {exc}")

    def _beat(self, run: ActiveRun) -> None:
        while not self._stop.wait(recording.HEARTBEAT_SECONDS):
            try:
                run.flush()
                recording.heartbeat(self.ctx, self.run_id)
            except Exception as exc:
                _say(f"heartbeat failed: {exc}")

    def emit(self, record: dict[str, Any]) -> None:
        with self._write_lock:
            self.recorder.take(record)

    def finish(self, status: str, error: str | None) -> None:
        self._stop.set()
        if self._capture_thread is not None:
            self._capture_thread.join()
        notebook = self._cells.stop() if self._cells is not None else None
        if notebook is not None and self._capture is not None:
            self._capture = RunCapture(
                self._capture.code,
                self._capture.environment,
                {**self._capture.invocation, "notebook": notebook},
            )
        files = None
        if self._files is not None:
            from pedigree.capture.files import assess

            records = self._files.close()
            self.recorder.files.extend(records)
            files = assess(
                trace="in-process",
                records=records,
                hellos=[],
                command_pid=None,
                argv=[sys.executable, *sys.argv],
                search_path=os.environ.get("PATH"),
            )
        self.recorder.finish(
            status, capture=self._capture, cwd=Path(os.getcwd()), error=error, files=files
        )


def start_run(
    ctx: Context,
    *,
    experiment: str,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    seed: int | None = None,
    on_end: Callable[[ActiveRun], None] | None = None,
    tags: Mapping[str, Any] | None = None,
) -> ActiveRun:
    """Create a run recorded by this very process and return its handle."""
    from pedigree.client.run import ActiveRun

    run_id = recording.create_run(
        ctx,
        experiment=experiment,
        name=name,
        command=[sys.executable, *sys.argv],
        params=params,
        seed=seed,
        tags=tags,
    )
    sink = StoreSink(ctx, run_id)
    run = ActiveRun(run_id, experiment, name, sink, on_end=on_end)
    sink.start(run)
    return run
