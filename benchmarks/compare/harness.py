"""The A/B harness: alternate the sides of a case, check every answer, keep every sample.

A *case* is one measurement done the same way on Pedigree (the subject, always listed first)
and on one or more others: an *anchor* (MLflow, DVC: what a user would use instead) or a
*reference* (raw BLAKE3, a plain subprocess: the physical floor). The harness runs the sides in a
fixed rotation, A B A B ... (A B C A B C ... with two others), first ``warmup`` rounds that are
thrown away, then ``pairs`` rounds that count. On a noisy machine both sides of a round see the
same noise, so the per-round ratio is fair even when the absolute times wander.

Every answer is checked as it comes (also in the warm-up): a side that returns a wrong answer
fails the case with ``WrongAnswer``, so a fast wrong answer never counts.

    >>> calls = []
    >>> def side(name):
    ...     return Side(name, run=lambda: calls.append(name) or Timed(0.001, name),
    ...                 check=lambda answer: None)
    >>> res = alternate("demo", "case", [side("A"), side("B")], pairs=2, warmup=1)
    >>> calls
    ['A', 'B', 'A', 'B', 'A', 'B']
    >>> res.ratios["B"].median
    1.0
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "Case",
    "Side",
    "Spread",
    "Timed",
    "WrongAnswer",
    "alternate",
    "expect",
    "not_run",
    "write_jsonl",
]


class WrongAnswer(AssertionError):
    """A side answered wrongly: its time must not count."""


def expect(condition: bool, message: str) -> None:
    """Raise :class:`WrongAnswer` unless ``condition`` holds (``assert`` vanishes under -O)."""
    if not condition:
        raise WrongAnswer(message)


@dataclass(frozen=True)
class Timed:
    """What a side returns when it timed itself (a worker process, a per-run figure)."""

    seconds: float
    answer: Any = None


def _no_check(answer: Any) -> None:
    return None


@dataclass
class Side:
    """One side of a case.

    ``run`` is timed by the harness (wall clock around the call) unless it returns
    :class:`Timed`, whose ``seconds`` then count instead (divide by the work done inside to get
    "per run" figures). ``prepare`` runs before every sample and is not timed. ``check`` gets
    the answer of every sample and raises :class:`WrongAnswer` when it is wrong.
    """

    name: str
    run: Callable[[], Any]
    check: Callable[[Any], None] = _no_check
    prepare: Callable[[], None] | None = None
    role: str = "anchor"  # subject | anchor | reference


@dataclass(frozen=True)
class Spread:
    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        vals = list(values)
        return cls(statistics.median(vals), min(vals), max(vals))

    def to_json(self) -> dict[str, float]:
        return {"median": self.median, "min": self.min, "max": self.max}


@dataclass
class Case:
    """The outcome of one case: every counted sample, in the order they were taken."""

    workload: str
    name: str
    sides: list[str]
    roles: dict[str, str] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # every sample taken, warm-up included
    warmup: int = 0
    pairs: int = 0
    status: str = "ok"  # ok | failed | not run
    reason: str = ""
    unit: str = "sample"  # what one sample's seconds are for: a run, a query, a process...
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after
    seconds: float = 0.0  # wall time of the whole case

    @property
    def subject(self) -> str:
        return self.sides[0] if self.sides else ""

    @property
    def medians(self) -> dict[str, float]:
        return {s: statistics.median(v) for s, v in self.samples.items() if v}

    @property
    def ratios(self) -> dict[str, Spread]:
        """Per other side: its time over the subject's, round by round (> 1: Pedigree faster)."""
        out: dict[str, Spread] = {}
        mine = self.samples.get(self.subject, [])
        for other in self.sides[1:]:
            theirs = self.samples.get(other, [])
            per_round = [t / m for m, t in zip(mine, theirs, strict=False) if m > 0]
            if per_round:
                out[other] = Spread.of(per_round)
        return out

    @property
    def differences(self) -> dict[str, Spread]:
        """Per other side: the subject's time minus its time, round by round (an overhead)."""
        out: dict[str, Spread] = {}
        mine = self.samples.get(self.subject, [])
        for other in self.sides[1:]:
            theirs = self.samples.get(other, [])
            per_round = [m - t for m, t in zip(mine, theirs, strict=False)]
            if per_round:
                out[other] = Spread.of(per_round)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Case:
        """A case back from its JSON (``to_json``): to publish a summary again."""
        return cls(
            data["workload"],
            data["case"],
            data["sides"],
            roles=data["roles"],
            samples=data["samples"],
            order=data["order"],
            warmup=data["warmup"],
            pairs=data["pairs"],
            status=data["status"],
            reason=data["reason"],
            unit=data["unit"],
            note=data["note"],
            extra=data["extra"],
            load=(data["load"][0], data["load"][1]) if data.get("load") else (0.0, 0.0),
            seconds=data.get("seconds", 0.0),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "case": self.name,
            "status": self.status,
            "reason": self.reason,
            "sides": self.sides,
            "roles": self.roles,
            "unit": self.unit,
            "warmup": self.warmup,
            "pairs": self.pairs,
            "order": self.order,
            "samples": self.samples,
            "medians": self.medians,
            "ratios": {k: v.to_json() for k, v in self.ratios.items()},
            "differences": {k: v.to_json() for k, v in self.differences.items()},
            "note": self.note,
            "extra": self.extra,
            "load": list(self.load),
            "seconds": round(self.seconds, 3),
        }


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def alternate(
    workload: str,
    name: str,
    sides: list[Side],
    *,
    pairs: int = 3,
    warmup: int = 1,
    note: str = "",
    unit: str = "sample",
    clock: Callable[[], float] = time.perf_counter,
) -> Case:
    """Run ``sides`` in rotation, ``warmup`` uncounted rounds then ``pairs`` counted ones.

    The first side is the subject. A side that raises fails the whole case (its status says
    why); a :class:`WrongAnswer` is never swallowed into a number.
    """
    if len(sides) < 1 or pairs < 1 or warmup < 0:
        raise ValueError("a case needs at least one side and one counted round")
    case = Case(
        workload,
        name,
        [s.name for s in sides],
        roles={s.name: ("subject" if i == 0 else s.role) for i, s in enumerate(sides)},
        samples={s.name: [] for s in sides},
        warmup=warmup,
        pairs=pairs,
        note=note,
        unit=unit,
    )
    started = time.perf_counter()
    load_before = _load()
    try:
        for rnd in range(warmup + pairs):
            for side in sides:
                if side.prepare is not None:
                    side.prepare()
                t0 = clock()
                answer = side.run()
                elapsed = clock() - t0
                case.order.append(side.name)
                if isinstance(answer, Timed):
                    elapsed, answer = answer.seconds, answer.answer
                try:
                    side.check(answer)
                except WrongAnswer as exc:
                    raise WrongAnswer(f"{side.name}: {exc}") from exc
                if rnd >= warmup:
                    case.samples[side.name].append(elapsed)
    except WrongAnswer as exc:
        case.status, case.reason = "failed", f"wrong answer: {exc}"
    except Exception as exc:
        case.status, case.reason = "failed", f"{type(exc).__name__}: {exc}"
    case.load = (load_before, _load())
    case.seconds = time.perf_counter() - started
    return case


def not_run(workload: str, name: str, sides: list[str], reason: str, note: str = "") -> Case:
    """A case that could not be measured, with the reason (never a made-up number)."""
    return Case(workload, name, sides, status="not run", reason=reason, note=note)


def write_jsonl(path: Path, cases: Iterable[Case], header: dict[str, Any]) -> None:
    """Append one line per case, each carrying the invocation's header (time, machine...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    at = header.get("at") or datetime.now(UTC).isoformat(timespec="seconds")
    with path.open("a") as f:
        for case in cases:
            f.write(json.dumps({"at": at, **case.to_json(), "invocation": header}) + "\n")
