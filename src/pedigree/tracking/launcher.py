"""``pedigree run``: run a command as a recorded run.

The recorder (this process) creates the run, captures the code before the command starts, runs
the command with its output shown live and stored, takes in what the command's Python processes
hand over through the spool (params, metrics, declared files, the interpreter they run on), and
ends the run with its status, exit code and everything it captured.

``launch`` can run several commands at once from threads (a sweep runs its trials this way, so
they share one recorder and its open store); only the main thread handles signals.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pedigree.capture.files import (
    COMPLETE,
    STRICT_EXIT_CODE,
    FileCapture,
    assess,
    choose_trace,
    project_settings,
    strace_argv,
    strace_records,
)
from pedigree.client.spool import SpoolReader
from pedigree.context import Context
from pedigree.errors import CommandNotFound, PedigreeError
from pedigree.tracking import recording
from pedigree.tracking.recorder import Recorder, capture_run

__all__ = ["INJECT_DIR", "CommandNotFound", "LaunchResult", "LaunchSpec", "launch"]

INJECT_DIR = str(Path(__file__).resolve().parent.parent / "_inject")
_POLL_SECONDS = 0.5
# How long the output may stay open after the command exited (see launch).
_OUTPUT_GRACE_SECONDS = 5.0


@dataclass
class LaunchSpec:
    argv: list[str]
    experiment: str | None = None  # None: the script's start_run(experiment=...) or "default"
    name: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    kind: str = "run"
    parent_id: str | None = None
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    # How file access is traced: auto | python | os (pedigree.capture.files); None: the
    # project's [capture] trace, else python.
    trace: str | None = None
    # Fail the run when its file capture is not complete; None: the project's [capture] strict.
    strict_capture: bool | None = None
    # Stop the command (SIGTERM, then SIGKILL 5 s later) once it has run this many seconds.
    timeout: float | None = None
    # Give the command an empty standard input instead of ours (a reproduction never waits
    # for a keyboard).
    stdin_null: bool = False
    # Tags the run starts with (``pedigree run --tag stage=candidate``).
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class LaunchResult:
    run_id: str
    status: str
    exit_code: int
    duration: float
    # The parameter names the command's pedigree.params(...) declared (a sweep checks its grid
    # against them); empty when it declared none.
    declared_params: frozenset[str] = frozenset()
    # The completeness mark of its file capture (None if the run could not be assessed).
    files: FileCapture | None = None


def _resolve_command(argv: Sequence[str], cwd: str) -> None:
    if not argv:
        raise CommandNotFound("no command given: pedigree run -- python script.py")
    exe = argv[0]
    if os.sep in exe:
        path = Path(cwd, exe)
        if not path.exists():
            raise CommandNotFound(f"command not found: {exe}")
        if not os.access(path, os.X_OK):
            raise CommandNotFound(f"{exe} is not executable (try: pedigree run -- sh {exe})")
    elif shutil.which(exe) is None:
        raise CommandNotFound(f"command not found: {exe}")


class _Tee(threading.Thread):
    """Copies a child's output to our own stream (live) and to a file (stored)."""

    def __init__(self, src: IO[bytes], dest: IO[bytes] | None, path: Path) -> None:
        super().__init__(daemon=True, name=f"pedigree-tee-{path.stem}")
        self.src, self.dest, self.path = src, dest, path

    def run(self) -> None:
        with self.src, open(self.path, "wb") as out:
            while chunk := self.src.read1(65536):  # type: ignore[attr-defined]
                out.write(chunk)
                out.flush()  # the run may end while a lingering process still writes
                if self.dest is not None:
                    try:
                        self.dest.write(chunk)
                        self.dest.flush()
                    except (OSError, ValueError):
                        self.dest = None  # our own output went away; keep recording


def _sdk_path(ctx: Context) -> str | None:
    """A folder holding only ``pedigree``, for scripts whose interpreter lacks Pedigree.

    The injected sitecustomize appends it to the END of ``sys.path``, so a Pedigree installed in
    the script's own environment wins, and nothing else of ours (SQLAlchemy...) leaks into it.
    """
    package = Path(__file__).resolve().parent.parent
    folder = ctx.project.cache_dir / "sdk"
    link = folder / "pedigree"
    try:
        if link.is_symlink() and Path(os.readlink(link)) == package:
            return str(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".pedigree-{os.getpid()}-{threading.get_ident()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(package, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:
        return None
    return str(folder)


def _child_env(ctx: Context, spec: LaunchSpec, run_id: str, spool: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(spec.env)
    env["PEDIGREE_RUN_ID"] = run_id
    env["PEDIGREE_SPOOL"] = str(spool)
    env["PEDIGREE_PROJECT_ROOT"] = str(ctx.project.root)
    env["PEDIGREE_PARAMS"] = json.dumps(spec.params)
    if spec.experiment:
        env["PEDIGREE_EXPERIMENT"] = spec.experiment
    if spec.seed is not None:
        env["PEDIGREE_SEED"] = str(spec.seed)
        env["PYTHONHASHSEED"] = str(spec.seed % 4294967296)
    ignore = ctx.project.capture_ignore
    if ignore:
        env["PEDIGREE_CAPTURE_IGNORE"] = json.dumps(ignore)
    sdk = _sdk_path(ctx)
    if sdk:
        env["PEDIGREE_SDK_PATH"] = sdk
    env["PYTHONUNBUFFERED"] = "1"  # so that output shows live through our pipe
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = INJECT_DIR + (os.pathsep + existing if existing else "")
    return env


def launch(
    ctx: Context,
    spec: LaunchSpec,
    *,
    stream: bool = True,
    on_start: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> LaunchResult:
    """Run ``spec.argv`` as a recorded run and wait for it.

    Setting ``stop`` (from another thread: a sweep being interrupted) terminates the command;
    the run then ends as killed.
    """
    from pedigree.capture import capture_code

    cwd = os.path.abspath(spec.cwd or os.getcwd())
    _resolve_command(spec.argv, cwd)
    default_trace, default_strict = project_settings(ctx.project.config)
    tracing = choose_trace(spec.trace or default_trace)  # a bad mode fails before the run
    strict = default_strict if spec.strict_capture is None else spec.strict_capture
    main_thread = threading.current_thread() is threading.main_thread()

    # Code is captured before the command starts, so that what it changes is not recorded as
    # the code it ran; git works while the store opens.
    code_box: dict[str, Any] = {}
    code_thread = threading.Thread(
        target=lambda: code_box.update(code=capture_code(cwd, ctx.objects)), daemon=True
    )
    code_thread.start()

    from pedigree.capture.notebooks import papermill_params

    run_id = recording.create_run(
        ctx,
        experiment=spec.experiment or "default",
        name=spec.name,
        kind=spec.kind,
        parent_id=spec.parent_id,
        command=spec.argv,
        cwd=cwd,
        # `papermill in.ipynb out.ipynb -p window 50`: the notebook's parameters are the run's
        params={**papermill_params(spec.argv), **spec.params},
        seed=spec.seed,
        tags=spec.tags,
    )
    spool = ctx.project.spool_dir / run_id
    spool.mkdir(parents=True, exist_ok=True)
    records = SpoolReader(spool)
    recorder = Recorder(
        ctx,
        run_id,
        fixed=[k for k in ("experiment", "name") if getattr(spec, k) is not None],
        declared=[*(("input", p) for p in spec.inputs), *(("output", p) for p in spec.outputs)],
    )
    code_thread.join()
    if on_start is not None:
        on_start(run_id)

    env = _child_env(ctx, spec, run_id, spool)
    own_group = main_thread and not (sys.stdin is not None and sys.stdin.isatty())
    argv = list(spec.argv)
    strace_log = spool / "strace.log"
    if tracing.mode == "os" and tracing.strace:
        argv = [*strace_argv(tracing.strace, strace_log), *argv]
    started = time.monotonic()
    try:
        child = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL if spec.stdin_null else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            process_group=0 if own_group else None,
        )
    except OSError as exc:
        recording.end_run(ctx, run_id, "failed", exit_code=127, error=f"could not start: {exc}")
        shutil.rmtree(spool, ignore_errors=True)
        raise CommandNotFound(f"could not start {spec.argv[0]}: {exc.strerror or exc}") from exc

    assert child.stdout is not None
    assert child.stderr is not None
    tees = [
        _Tee(child.stdout, sys.stdout.buffer if stream else None, spool / "stdout.log"),
        _Tee(child.stderr, sys.stderr.buffer if stream else None, spool / "stderr.log"),
    ]
    for tee in tees:
        tee.start()

    received: list[int] = []
    restore: dict[int, Any] = {}
    traced = tracing.mode == "os"

    def send(sig: int) -> None:
        # strace holds fatal signals while it runs a command: they go to what it traces.
        targets = _children(child.pid) if traced else []
        for pid in targets or [child.pid]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    if main_thread:

        def forward(signum: int, _frame: Any) -> None:
            received.append(signum)
            # From a terminal, Ctrl-C already reached a child in our process group.
            terminal_sigint = signum == signal.SIGINT and not own_group
            sig = int(signal.SIGKILL) if len(received) > 2 else signum
            if not terminal_sigint or len(received) > 2:
                send(sig)

        for handled in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            restore[handled] = signal.signal(handled, forward)

    # A thread blocked in waitpid learns of the exit at once; Popen.wait(timeout) polls with
    # sleeps of up to 50 ms, which a sweep of short trials pays on every trial.
    exited = threading.Event()

    def reap() -> None:
        child.wait()
        exited.set()

    threading.Thread(target=reap, name=f"pedigree-wait-{run_id[:8]}", daemon=True).start()
    timed_out: list[float] = []  # when the command was told to stop for running too long
    try:
        last_beat = time.monotonic()
        while not exited.wait(_POLL_SECONDS):
            if stop is not None and stop.is_set() and signal.SIGTERM not in received:
                received.append(signal.SIGTERM)
                send(signal.SIGTERM)
            now = time.monotonic()
            if spec.timeout is not None and now - started > spec.timeout:
                if not timed_out:
                    timed_out.append(now)
                    received.append(signal.SIGTERM)
                    send(signal.SIGTERM)
                elif now - timed_out[0] > _OUTPUT_GRACE_SECONDS:
                    send(signal.SIGKILL)  # it ignored SIGTERM
            recorder.ingest(records.read_new())
            if time.monotonic() - last_beat > recording.HEARTBEAT_SECONDS:
                recording.heartbeat(ctx, run_id)
                last_beat = time.monotonic()
    finally:
        for signum_, handler in restore.items():
            signal.signal(signum_, handler)
    # The output ends when every process holding the pipes has exited. A process the command
    # started and left behind (a multiprocessing worker its pool never stopped, seen under load)
    # may hold them for ever: the run does not wait for it past a grace period.
    until = time.monotonic() + _OUTPUT_GRACE_SECONDS
    for tee in tees:
        tee.join(max(0.0, until - time.monotonic()))
    if any(tee.is_alive() for tee in tees):
        print(
            f"pedigree: a process started by {spec.argv[0]} still holds its output open; "
            "the output recorded is what it wrote until the command exited",
            file=sys.stderr,
        )
    duration = time.monotonic() - started
    recorder.ingest(records.read_new())

    returncode = child.returncode
    exit_code = 128 - returncode if returncode < 0 else returncode
    error = None
    # A signal we passed on ended the run only if the command then died of it or failed: one
    # that ignores (or handles) it and exits 0 finished its work.
    if returncode < 0 or (received and returncode != 0):
        status = "killed"
        signum = received[0] if received else -returncode
        error = f"stopped by {signal.Signals(signum).name}"
    elif returncode != 0:
        status = "failed"
        error = f"exited with code {returncode}"
    elif recorder.reported_status is not None:
        status, error = recorder.reported_status
    else:
        status = "finished"
    if timed_out:
        status, error = "killed", f"timed out after {spec.timeout:g} s"

    files_mark: FileCapture | None = None
    try:
        problems: list[str] = []
        if traced:
            found, problems = strace_records(strace_log, root=ctx.project.root, cwd=cwd)
            recorder.files.extend(found)
        files_mark = assess(
            trace=tracing.mode,
            records=recorder.files,
            hellos=recorder.hellos,
            command_pid=None if traced else child.pid,
            argv=spec.argv,
            search_path=env.get("PATH"),
            fallback=tracing.fallback,
            problems=problems,
        )
    except (OSError, ValueError) as exc:
        print(f"pedigree: file capture could not be assessed: {exc}", file=sys.stderr)
    if strict and status == "finished" and (files_mark is None or files_mark.files != COMPLETE):
        why = "; ".join(files_mark.reasons) if files_mark is not None else "not assessed"
        what = files_mark.files if files_mark is not None else "unknown"
        status, exit_code = "failed", STRICT_EXIT_CODE
        error = f"strict capture: file capture is {what} ({why})"
        print(f"pedigree: {error}", file=sys.stderr)

    capture = None
    out_digest: str | None = None
    err_digest: str | None = None
    try:
        capture = capture_run(
            ctx,
            argv=spec.argv,
            cwd=cwd,
            env=env,
            interpreter=recorder.interpreter(child.pid),
            code=code_box.get("code"),
        )
        out_digest = str(ctx.objects.put_file(spool / "stdout.log"))
        err_digest = str(ctx.objects.put_file(spool / "stderr.log"))
    except PedigreeError as exc:
        print(f"pedigree: {exc}", file=sys.stderr)
    recorder.finish(
        status,
        capture=capture,
        cwd=Path(cwd),
        exit_code=exit_code,
        error=error,
        stdout_digest=out_digest,
        stderr_digest=err_digest,
        files=files_mark,
    )
    shutil.rmtree(spool, ignore_errors=True)
    return LaunchResult(
        run_id, status, exit_code, duration, frozenset(recorder.declared_params), files_mark
    )


def _children(pid: int) -> list[int]:
    """The direct children of a process (what strace started), from /proc."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]
