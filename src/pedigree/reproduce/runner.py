"""``reproduce``: re-run a recorded run in a materialised copy of its world and judge the result.

The reproduction is itself a run (kind ``reproduction``, same experiment) recorded with its own
code, environment, inputs and outputs; a ``reproduction.recorded`` event links it to the original
with the verdict and what was compared. When something needed is missing (a commit, an object)
the reproduction run is still recorded, as failed with the reason, and nothing else changes.

::

    r = reproduce(ctx, "0193a5c2", rtol=1e-6)
    r.verdict, r.exit_code        # ('identical', 0)

(``tests/reproduce`` runs every verdict end to end, on real git repositories.)
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pedigree.errors import InvalidInput, PedigreeError
from pedigree.reproduce.compare import EXIT_CODES, check_tolerance, compare
from pedigree.reproduce.environment import compare_environments, rebuild, uses_python
from pedigree.reproduce.workspace import (
    CannotReproduce,
    Workspace,
    materialise,
    remove_worktree,
    scratch_prefix,
)
from pedigree.store.events import ReproductionRecorded
from pedigree.tracking import recording

if TYPE_CHECKING:
    from pedigree.context import Context

__all__ = ["DEFAULT_ATOL", "DEFAULT_RTOL", "Reproduction", "reproduce"]

DEFAULT_RTOL = 1e-9
DEFAULT_ATOL = 0.0
EnvMode = Literal["current", "rebuild"]


@dataclass
class Reproduction:
    """The outcome: the reproduction run, its verdict and the details recorded with it."""

    run_id: str
    original_id: str
    verdict: str
    details: dict[str, Any] = field(default_factory=dict)
    workspace: str | None = None  # kept with keep=True

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.run_id,
            "original": self.original_id,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "workspace": self.workspace,
            **{k: v for k, v in self.details.items() if k != "verdict"},
        }


def _run_record(ctx: Context, ref: str) -> dict[str, Any]:
    from pedigree.tracking.records import load_records

    with ctx.read() as reader:
        return load_records(reader, [reader.resolve_run(ref)], detail=True)[0]


def _io(ctx: Context, run_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with ctx.read() as reader:
        files = reader.run_files(run_id)
    items = [
        {"role": f.role, "path": f.path, "digest": f.digest, "kind": f.kind, "size": f.size}
        for f in files
    ]
    return [i for i in items if i["role"] == "input"], [i for i in items if i["role"] == "output"]


def _tree_entries(ctx: Context, digests: list[str]) -> dict[str, list[tuple[str, str]]]:
    if not digests:
        return {}
    with ctx.read() as reader:
        return reader.tree_files(digests)


def _relocate(value: str, old: Path, new: Path) -> str:
    """Point a path inside the original repository at the same place in the checkout."""
    o = str(old).rstrip("/")
    if value == o:
        return str(new)
    return value.replace(o + "/", str(new).rstrip("/") + "/")


def _program(recorded: str, relocated: str, old_cwd: Path, new_cwd: Path) -> str:
    """The program to start: the checkout's copy, or the original's when the checkout lacks it.

    An interpreter or tool inside the project (``venv/bin/python``) is usually ignored by git,
    so the checkout does not hold it; it then runs from the project, as recorded. A bare name
    (``python``) is looked up on PATH as usual.
    """
    if "/" not in recorded and os.sep not in recorded:
        return relocated
    here = Path(relocated) if os.path.isabs(relocated) else new_cwd / relocated
    if os.path.lexists(here):
        return relocated
    there = Path(recorded) if os.path.isabs(recorded) else old_cwd / recorded
    return str(there) if os.path.lexists(there) else relocated


def _child_env(recorded: dict[str, str], ws_old: Path, ws_new: Path) -> dict[str, str]:
    from pedigree.tracking.launcher import INJECT_DIR

    env = {}
    for name, value in recorded.items():
        if name.startswith("PEDIGREE_") or name == "PYTHONHASHSEED":
            continue  # the launcher sets the seed variables from the seed itself
        if name == "PYTHONPATH":
            parts = [p for p in value.split(os.pathsep) if p and p != INJECT_DIR]
            value = os.pathsep.join(_relocate(p, ws_old, ws_new) for p in parts)
            if not value:
                continue
        env[name] = _relocate(value, ws_old, ws_new)
    return env


def _hash_outputs(
    ctx: Context, root: Path, paths: list[str], *, store: bool = False
) -> dict[str, str | None]:
    """The digest of each output as the run's linking records it (a folder's is its tree
    digest), None when it was not produced; with ``store`` their bytes are kept too.

    Hashed like the original was (the snapshot, through the stat cache), so that a file and a
    folder compare by the same kind of digest.
    """
    from pedigree.data.snapshot import hash_path

    out: dict[str, str | None] = {}
    for rel in paths:
        path = root / rel
        if not os.path.lexists(path):
            out[rel] = None
            continue
        try:
            out[rel] = str(hash_path(ctx, path, root=root, store=store).digest)
        except InvalidInput:  # unreadable, or a link that leaves the project
            out[rel] = None
    return out


def _same_notebooks(
    ctx: Context, root: Path, outputs: list[dict[str, Any]], produced: dict[str, str | None]
) -> list[str]:
    """Executed notebooks whose bytes differ but whose cells (source and outputs) are the same:
    execution counts, timings and metadata change on every run. Their reproduced digest is
    taken as the original's for the verdict, with a note."""
    from pedigree.capture.notebooks import notebook_fingerprint
    from pedigree.digest import Digest

    notes: list[str] = []
    for o in outputs:
        rel, digest = o["path"], o["digest"]
        if not rel.endswith(".ipynb") or produced.get(rel) in (None, digest):
            continue
        try:
            before = notebook_fingerprint(ctx.objects.get_bytes(Digest.parse(digest)))
            after = notebook_fingerprint((root / rel).read_bytes())
        except (OSError, PedigreeError, ValueError):
            continue
        if before is not None and before == after:
            produced[rel] = digest
            notes.append(
                f"{rel}: the same cells and outputs as the original (compared as a notebook: "
                "execution counts, timings and metadata ignored)"
            )
    return notes


def _record_failure(
    ctx: Context, original: dict[str, Any], reason: str, details: dict[str, Any]
) -> Reproduction:
    run_id = recording.create_run(
        ctx,
        experiment=original["experiment"],
        name=f"reproduce {original['id']}",
        kind="reproduction",
        command=original["command"],
        params=original["params"] or None,
        seed=original["seed"],
    )
    details = {**details, "verdict": "failed", "reason": reason}
    recording.end_run(ctx, run_id, "failed", error=reason)
    _record_verdict(ctx, run_id, original["id"], "failed", details)
    return Reproduction(run_id, original["id"], "failed", details)


def _record_verdict(
    ctx: Context, run_id: str, original_id: str, verdict: str, details: dict[str, Any]
) -> None:
    from pedigree.jsonutil import public

    ctx.append(
        [
            ReproductionRecorded(
                run_id=run_id, original_id=original_id, verdict=verdict, details=public(details)
            )
        ]
    )


def reproduce(
    ctx: Context,
    ref: str,
    *,
    env: EnvMode = "current",
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    ignore_stdout: bool = False,
    keep: bool = False,
    stream: bool = True,
    on_start: Any = None,
    timeout: float | None = None,
) -> Reproduction:
    """Re-run ``ref`` with its recorded code, inputs, params, seed and environment variables.

    Bad arguments (an unknown run, a malformed tolerance, a run whose command cannot be run
    again: an interactive session, a kernel, ``python -``; see
    :mod:`pedigree.reproduce.rerunnable`) raise before anything is recorded; everything else
    ends in a recorded reproduction with a verdict. ``timeout`` (seconds) stops the command
    when it runs longer: the verdict is then ``failed``.
    """
    rtol = check_tolerance("rtol", rtol)
    atol = check_tolerance("atol", atol)
    if env not in ("current", "rebuild"):
        raise InvalidInput(f"--env must be current or rebuild, not {env!r}")
    from pedigree.audit.guard import require_intact

    # The command, its inputs and its code are run as recorded: only if the chain vouches for them.
    require_intact(ctx, "nothing was reproduced")
    original = _run_record(ctx, ref)
    if original["status"] == "running":
        raise InvalidInput(f"run {original['id']} is still running; reproduce it once it ends")
    from pedigree.reproduce.rerunnable import unrunnable

    why = unrunnable(original["command"])
    if why is not None:
        raise InvalidInput(f"run {original['id']} cannot be reproduced: {why}")
    if timeout is not None and not (0 < timeout < float("inf")):
        raise InvalidInput(f"--timeout must be a number of seconds > 0, not {timeout!r}")
    started = time.perf_counter()
    inputs, outputs = _io(ctx, original["id"])
    settings = {
        "env": env,
        "rtol": rtol,
        "atol": atol,
        "ignore_stdout": ignore_stdout,
        "timeout": timeout,
    }
    scratch = Path(tempfile.mkdtemp(prefix=scratch_prefix(original["id"])))
    box: dict[str, Workspace] = {}
    try:
        outcome = _reproduce(
            ctx,
            original,
            inputs,
            outputs,
            settings,
            scratch,
            box,
            started=started,
            stream=stream,
            on_start=on_start,
        )
    finally:
        ws = box.get("ws")
        if ws is None:
            shutil.rmtree(scratch, ignore_errors=True)
        elif not keep:
            remove_worktree(ws.repo, ws.worktree)
            shutil.rmtree(scratch, ignore_errors=True)
    if keep and "ws" in box:
        outcome.workspace = str(box["ws"].worktree)
    return outcome


def _reproduce(
    ctx: Context,
    original: dict[str, Any],
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    settings: dict[str, Any],
    scratch: Path,
    box: dict[str, Workspace],
    *,
    started: float,
    stream: bool,
    on_start: Any,
) -> Reproduction:
    env = settings["env"]
    rtol, atol, ignore_stdout = settings["rtol"], settings["atol"], settings["ignore_stdout"]
    notes: list[str] = []
    try:
        if not original["command"]:
            raise CannotReproduce(
                f"run {original['id']} recorded no command (it was recorded from inside a "
                "Python process, not by `pedigree run`)"
            )
        ws = materialise(
            ctx,
            original,
            inputs,
            _tree_entries(ctx, [i["digest"] for i in inputs if i["kind"] == "dir"]),
            scratch / "src",
        )
        box["ws"] = ws
        notes += ws.notes
        argv = [_relocate(a, ws.original_root, ws.worktree) for a in original["command"]]
        argv[0] = _program(
            original["command"][0],
            argv[0],
            Path(original.get("cwd") or ws.original_root),
            ws.cwd,
        )
        recorded_env = (original.get("invocation") or {}).get("env") or {}
        child_env = _child_env(recorded_env, ws.original_root, ws.worktree)
        if env == "rebuild":
            python, env_notes = rebuild(original["environment"], cache_dir=ctx.project.cache_dir)
            notes += env_notes
            if not uses_python(argv, original["environment"].get("executable")):
                notes.append("the command does not start Python; it runs as recorded")
            else:
                argv[0] = str(python)
            child_env["VIRTUAL_ENV"] = str(python.parent.parent)
            child_env["PATH"] = f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    except CannotReproduce as exc:
        return _record_failure(ctx, original, exc.message, {**settings, "notes": notes})
    prepared = time.perf_counter() - started

    from pedigree.config import Project
    from pedigree.context import Context
    from pedigree.tracking.launcher import LaunchSpec, launch

    # Paths are recorded relative to the project root: inside the checkout, that is the
    # checkout's root, so the reproduction's files are captured and named like the original's.
    local = Context(
        Project(ws.root, ctx.project.config),
        store=ctx.store,
        objects=ctx.objects,
        actor=ctx.actor,
    )
    spec = LaunchSpec(
        argv=argv,
        experiment=original["experiment"],
        name=f"reproduce {original['id']}",
        params=dict(original["params"]),
        seed=original["seed"],
        kind="reproduction",
        cwd=str(ws.cwd),
        env=child_env,
        # Link the same files as the original did, at the same project-relative paths.
        inputs=[str(ws.root / i["path"]) for i in inputs],
        outputs=[str(ws.root / o["path"]) for o in outputs],
        timeout=settings.get("timeout"),
        stdin_null=True,
    )
    try:
        result = launch(local, spec, stream=stream, on_start=on_start)
    except PedigreeError as exc:
        return _record_failure(ctx, original, str(exc), {**settings, "notes": notes})
    finished = time.perf_counter()

    rep = _run_record(ctx, result.run_id)
    environment = compare_environments(original["environment"], rep["environment"])
    details: dict[str, Any] = {
        **settings,
        "original": original["id"],
        "exit_code": {"original": original["exit_code"], "reproduced": result.exit_code},
        "environment": environment,
        "notes": notes,
        "timing": {
            "prepare_seconds": prepared,
            "run_seconds": result.duration,
            "total_seconds": None,
        },
    }
    if result.status != "finished" and result.exit_code != original["exit_code"]:
        reason = (
            f"the command ended {result.status} with exit code {result.exit_code} "
            f"(the original: {original['status']}, exit code {original['exit_code']})"
        )
        details.update({"verdict": "failed", "reason": reason})
        _record_verdict(ctx, result.run_id, original["id"], "failed", details)
        return Reproduction(result.run_id, original["id"], "failed", details)

    produced = _hash_outputs(ctx, ws.root, [o["path"] for o in outputs])
    notes += _same_notebooks(ctx, ws.root, outputs, produced)
    judged = compare(
        outputs={o["path"]: (o["digest"], produced[o["path"]]) for o in outputs},
        stdout=None if ignore_stdout else (original["stdout_digest"], rep["stdout_digest"]),
        metrics=(original["metrics"], rep["metrics"]),
        rtol=rtol,
        atol=atol,
    )
    if result.exit_code != original["exit_code"]:
        judged["differences"].insert(
            0, f"exit code {result.exit_code} (the original: {original['exit_code']})"
        )
        judged["verdict"] = "diverged"
    # Keep the bytes of every differing output, so they can be compared later.
    differing = [i["path"] for i in judged["outputs"] if i["reproduced"] and not i["same"]]
    if differing:
        _hash_outputs(ctx, ws.root, differing, store=True)
    details.update(judged)
    details["timing"]["total_seconds"] = time.perf_counter() - started
    details["timing"]["compare_seconds"] = time.perf_counter() - finished
    _record_verdict(ctx, result.run_id, original["id"], judged["verdict"], details)
    return Reproduction(result.run_id, original["id"], judged["verdict"], details)
