"""Where a sweep's trials run: in this process's pool of child processes, or on Ray.

Both executors take ``(index, LaunchSpec)`` pairs, keep at most ``jobs`` trials running at once,
and yield a :class:`TrialDone` as each trial ends, in the order they end. Each trial is recorded
by :func:`pedigree.tracking.launcher.launch`, exactly as ``pedigree run`` records a command.

- :class:`LocalExecutor` (the default): one recorder, this process, with its store opened once;
  each trial is a child process started and watched from a thread of a small pool, so Pedigree's
  cost per trial stays far below the cost of opening the store.
- :class:`RayExecutor` (``pip install 'pedigree[ray]'``): each trial is a Ray task whose worker
  records it with ``launch`` into the same store (a worker keeps its store open between tasks).
  Every node must see the project at the same path and reach the metadata store: the embedded
  SQLite store serves a local Ray instance; a cluster needs a shared folder and PostgreSQL.

Stopping: when ``no_more`` is set no further trial starts and the running ones finish; when
``kill`` is set too, the running ones are terminated (recorded as killed).
"""

from __future__ import annotations

import os
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pedigree.errors import ExecutorUnavailable, InvalidInput, PedigreeError

if TYPE_CHECKING:
    from pedigree.context import Context
    from pedigree.tracking.launcher import LaunchResult, LaunchSpec

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorUnavailable",
    "LocalExecutor",
    "RayExecutor",
    "TrialDone",
    "make_executor",
]

_POLL_SECONDS = 0.25
_CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class TrialDone:
    """A trial that ended: its launch result, or why it could not be run or recorded."""

    index: int
    result: LaunchResult | None
    error: str | None = None


class Executor(ABC):
    name: str = ""

    def __init__(self, jobs: int) -> None:
        if jobs < 1:
            raise InvalidInput(f"-j/--jobs must be at least 1, not {jobs}")
        self.jobs = jobs

    def open(self) -> None:  # noqa: B027 (a no-op unless the executor has a cluster to reach)
        """Get ready to run trials (connect to a cluster); raise ExecutorUnavailable if not."""

    def close(self) -> None:  # noqa: B027
        """Release what ``open`` took."""

    @abstractmethod
    def run(
        self,
        ctx: Context,
        specs: Iterable[tuple[int, LaunchSpec]],
        *,
        no_more: threading.Event,
        kill: threading.Event,
    ) -> Iterator[TrialDone]: ...


class LocalExecutor(Executor):
    """Trials as child processes of this process, at most ``jobs`` at once."""

    name = "local"

    def run(
        self,
        ctx: Context,
        specs: Iterable[tuple[int, LaunchSpec]],
        *,
        no_more: threading.Event,
        kill: threading.Event,
    ) -> Iterator[TrialDone]:
        from pedigree.tracking.launcher import launch

        pending = iter(specs)
        running: dict[Future[LaunchResult], int] = {}
        with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="pedigree-trial") as pool:

            def fill() -> None:
                while len(running) < self.jobs and not no_more.is_set():
                    item = next(pending, None)
                    if item is None:
                        return
                    index, spec = item
                    future = pool.submit(launch, ctx, spec, stream=False, stop=kill)
                    running[future] = index

            fill()
            while running:
                done, _ = wait(running, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    index = running.pop(future)
                    yield _outcome(index, future)
                fill()


def _outcome(index: int, future: Future[LaunchResult]) -> TrialDone:
    try:
        return TrialDone(index, future.result())
    except PedigreeError as exc:
        return TrialDone(index, None, str(exc))
    except Exception as exc:  # one trial's trouble must not lose the others' records
        return TrialDone(index, None, f"internal error: {type(exc).__name__}: {exc}")


# -- Ray ---------------------------------------------------------------------------------------

# A Ray worker process runs many trials: it opens the store once and keeps it.
_WORKER_CONTEXTS: dict[tuple[str, str, str], Context] = {}
_WORKER_LOCK = threading.Lock()


def _worker_context(root: str, uri: str, objects: str, config: dict[str, Any]) -> Context:
    from pathlib import Path

    from pedigree.config import Project
    from pedigree.context import Context
    from pedigree.objects import open_object_store
    from pedigree.store.sql import open_store

    key = (root, uri, objects)
    with _WORKER_LOCK:
        ctx = _WORKER_CONTEXTS.get(key)
        if ctx is None:
            ctx = Context(
                Project(Path(root), config),
                store=open_store(uri),
                objects=open_object_store(objects),
            )
            _WORKER_CONTEXTS[key] = ctx
        return ctx


def ray_trial(
    root: str, uri: str, objects: str, config: dict[str, Any], spec: LaunchSpec
) -> LaunchResult:
    """The body of one Ray task: record the trial from the worker, into the sweep's store."""
    from pedigree.tracking.launcher import launch

    return launch(_worker_context(root, uri, objects, config), spec, stream=False)


def _check_reachable(address: str, source: str = "--ray-address") -> None:
    """Fail fast on an address that does not answer (``ray.init`` would retry for minutes)."""
    if address == "auto" or address.startswith("ray://"):
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise InvalidInput(f"{source} {address!r} is not HOST:PORT (example: 10.0.0.5:6379)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=_CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ExecutorUnavailable(
            f"the Ray cluster at {address} does not answer ({reason})",
            hint=f"start it with `ray start --head`, or leave out {source} to run a local "
            "Ray instance",
        ) from exc


class RayExecutor(Executor):
    """Trials as Ray tasks (one CPU each), at most ``jobs`` at once.

    Without an address, starts a local Ray instance with ``jobs`` CPUs for the sweep and stops it
    afterwards; an instance this process already started (``ray.init()``) is used as it is.
    """

    name = "ray"

    def __init__(self, jobs: int | None = None, address: str | None = None) -> None:
        # Without -j: as many trials at once as the cluster has CPUs (known once connected).
        super().__init__(jobs or 1)
        self.auto_jobs = jobs is None
        self.address = address
        self._started = False
        self._remote: Any = None

    def open(self) -> None:
        try:
            import ray
        except ImportError:
            raise InvalidInput("the Ray executor needs Ray: pip install 'pedigree[ray]'") from None
        import logging

        if not ray.is_initialized():
            if not self.address and os.environ.get("RAY_ADDRESS"):
                # ray.init() would read it too, and retry an address that does not answer for
                # minutes: take it as if given with --ray-address, checked the same way.
                self.address = os.environ["RAY_ADDRESS"]
                _check_reachable(self.address, "RAY_ADDRESS")
            elif self.address:
                _check_reachable(self.address)
            try:
                ray.init(
                    address=self.address,
                    num_cpus=None if self.address else (None if self.auto_jobs else self.jobs),
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.ERROR,
                )
            except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
                where = f"at {self.address}" if self.address else "(local instance)"
                raise ExecutorUnavailable(f"could not start Ray {where}: {exc}") from exc
            self._started = True
        if self.auto_jobs:
            untyped: Any = ray  # cluster_resources() carries no annotations
            self.jobs = max(1, int(untyped.cluster_resources().get("CPU", 1)))
        # Never retry a trial behind the user's back: a retry would record a second run.
        self._remote = ray.remote(num_cpus=1, max_retries=0, retry_exceptions=False)(ray_trial)

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def run(
        self,
        ctx: Context,
        specs: Iterable[tuple[int, LaunchSpec]],
        *,
        no_more: threading.Event,
        kill: threading.Event,
    ) -> Iterator[TrialDone]:
        import ray
        from ray.exceptions import RayError, RayTaskError, TaskCancelledError

        assert self._remote is not None, "open() first"
        project = ctx.project
        config = {**project.config, "user": {"name": ctx.user}}
        args = (str(project.root), project.uri, project.objects_location, config)
        pending = iter(specs)
        running: dict[Any, int] = {}
        cancelled = False

        def fill() -> None:
            while len(running) < self.jobs and not no_more.is_set():
                item = next(pending, None)
                if item is None:
                    return
                index, spec = item
                running[self._remote.remote(*args, spec)] = index

        fill()
        while running:
            if kill.is_set() and not cancelled:
                cancelled = True
                for ref in running:
                    ray.cancel(ref)
            done, _ = ray.wait(list(running), num_returns=1, timeout=_POLL_SECONDS)
            for ref in done:
                index = running.pop(ref)
                try:
                    yield TrialDone(index, ray.get(ref))
                except TaskCancelledError:
                    yield TrialDone(index, None, "cancelled")
                except RayTaskError as exc:
                    cause = exc.cause if isinstance(exc.cause, BaseException) else exc
                    yield TrialDone(index, None, str(cause).strip().splitlines()[-1])
                except RayError as exc:
                    # The cluster went away: the trials still out there are lost to us.
                    no_more.set()
                    raise ExecutorUnavailable(f"lost the Ray cluster: {exc}") from exc
            fill()


EXECUTORS = ("local", "ray")


def make_executor(name: str, jobs: int | None, *, ray_address: str | None = None) -> Executor:
    """An executor by name; ``jobs`` defaults to 1 locally and to the cluster's CPUs on Ray."""
    if name == "local":
        if ray_address:
            raise InvalidInput("--ray-address needs --executor ray")
        return LocalExecutor(1 if jobs is None else jobs)
    if name == "ray":
        if jobs is not None and jobs < 1:
            raise InvalidInput(f"-j/--jobs must be at least 1, not {jobs}")
        return RayExecutor(jobs, address=ray_address)
    raise InvalidInput(f"unknown executor {name!r}: {' or '.join(EXECUTORS)}")
