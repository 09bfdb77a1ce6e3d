"""What a sweep runs: its parameter lists, and how they expand into trials.

A grid runs every combination; one-at-a-time starts from a base (the first value of each list)
and varies one parameter at a time, the others held at their base, without repeating the base::

    >>> spec = SweepSpec(params={"window": [50, 20, 100], "instrument": ["AAPL", "MSFT"]},
    ...                  command=["python", "backtest.py", "--window", "{window}"])
    >>> [t.params for t in expand(spec)][:2]
    [{'window': 50, 'instrument': 'AAPL'}, {'window': 50, 'instrument': 'MSFT'}]
    >>> expand(spec)[0].argv
    ['python', 'backtest.py', '--window', '50']
    >>> oat = SweepSpec(params=spec.params, command=spec.command, mode=ONE_AT_A_TIME)
    >>> [t.name for t in expand(oat)]
    ['window=50 instrument=AAPL', 'window=20', 'window=100', 'instrument=MSFT']
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pedigree.errors import EmptySweep, InvalidInput, InvalidParam

__all__ = [
    "GRID",
    "MAX_TRIALS",
    "ONE_AT_A_TIME",
    "EmptySweep",
    "SweepSpec",
    "Trial",
    "expand",
    "fill_placeholders",
    "format_value",
    "parse_param_list",
    "split_values",
]

GRID = "grid"
ONE_AT_A_TIME = "one-at-a-time"
MODES = (GRID, ONE_AT_A_TIME)
MAXIMIZE, MINIMIZE = "max", "min"
# A guard against a typo that asks for a billion trials.
MAX_TRIALS = 100_000

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.\-]*)\}")


def split_values(text: str) -> list[str]:
    """Split ``a,b,c`` at commas outside quotes: ``'"a,b",c'`` gives ``['"a,b"', 'c']``."""
    items: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for ch in text:
        if quote is not None:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif ch == ",":
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quote is not None:
        raise InvalidParam(f"unbalanced {quote} in {text!r}")
    items.append("".join(current))
    return items


def parse_param_list(text: str) -> tuple[str, list[Any]]:
    """``window=10,20,50`` -> ``("window", [10, 20, 50])``; values are typed like ``--param``."""
    from pedigree.client.params import parse_assignment, parse_value

    key, _ = parse_assignment(text)  # checks the NAME= part
    raw = text.partition("=")[2]
    if not raw.strip():
        raise EmptySweep(f"--param {text!r} has no values (example: --param {key}=10,20,50)")
    values: list[Any] = []
    for item in split_values(raw):
        if not item.strip():
            raise EmptySweep(f"--param {text!r} has an empty value (check the commas)")
        value = parse_value(item)
        if any(_same(value, v) for v in values):
            raise InvalidParam(f"--param {key} lists {format_value(value)} twice")
        values.append(value)
    return key, values


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def format_value(value: Any) -> str:
    """A value as it goes into a command line or a table: ``true``, ``2.5``, ``AAPL``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


@dataclass(frozen=True)
class Trial:
    """One point of the sweep: its parameters, its command line and a readable name."""

    index: int
    params: dict[str, Any]
    argv: list[str]
    name: str


@dataclass(frozen=True)
class SweepSpec:
    """Everything that defines a sweep; recorded with the sweep (event ``sweep.created``)."""

    params: dict[str, list[Any]]
    command: list[str]
    mode: str = GRID
    metric: str | None = None
    goal: str = MAXIMIZE
    columns: list[str] = field(default_factory=list)
    experiment: str | None = None
    executor: str = "local"
    jobs: int = 1
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidInput(f"unknown sweep mode {self.mode!r}: {' or '.join(MODES)}")
        if self.goal not in (MAXIMIZE, MINIMIZE):
            raise InvalidInput(f"unknown goal {self.goal!r}: max or min")

    @property
    def varied(self) -> list[str]:
        """The parameters with more than one value (the others are held fixed)."""
        return [k for k, v in self.params.items() if len(v) > 1]

    @property
    def fixed(self) -> dict[str, Any]:
        return {k: v[0] for k, v in self.params.items() if len(v) == 1}

    @property
    def base(self) -> dict[str, Any]:
        return {k: v[0] for k, v in self.params.items()}

    def count(self) -> int:
        if self.mode == GRID:
            return math.prod(len(v) for v in self.params.values())
        return 1 + sum(len(v) - 1 for v in self.params.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "params": {k: list(v) for k, v in self.params.items()},
            "order": list(self.params),  # JSON objects may come back sorted
            "command": list(self.command),
            "metric": self.metric,
            "goal": self.goal,
            "columns": list(self.columns),
            "experiment": self.experiment,
            "executor": self.executor,
            "jobs": self.jobs,
            "seed": self.seed,
            "trials": self.count(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SweepSpec:
        params = data.get("params") or {}
        order = [k for k in data.get("order") or [] if k in params]
        order += [k for k in params if k not in order]
        return cls(
            params={k: list(params[k]) for k in order},
            command=list(data.get("command") or []),
            mode=data.get("mode", GRID),
            metric=data.get("metric"),
            goal=data.get("goal", MAXIMIZE),
            columns=list(data.get("columns") or []),
            experiment=data.get("experiment"),
            executor=data.get("executor", "local"),
            jobs=int(data.get("jobs") or 1),
            seed=data.get("seed"),
        )


def fill_placeholders(argv: Sequence[str], params: dict[str, Any]) -> list[str]:
    """Replace ``{name}`` in each argument by the parameter's value; other braces stay."""

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        return format_value(params[key]) if key in params else m.group(0)

    return [_PLACEHOLDER.sub(sub, arg) for arg in argv]


def placeholders(argv: Iterable[str]) -> set[str]:
    """The names written as ``{name}`` in a command."""
    return {m.group(1) for arg in argv for m in _PLACEHOLDER.finditer(arg)}


def _combinations(spec: SweepSpec) -> list[dict[str, Any]]:
    keys = list(spec.params)
    if spec.mode == GRID:
        return [
            dict(zip(keys, values, strict=True))
            for values in itertools.product(*(spec.params[k] for k in keys))
        ]
    base = spec.base
    points = [dict(base)]
    for key in keys:
        for value in spec.params[key][1:]:
            points.append({**base, key: value})
    return points


def _name(spec: SweepSpec, params: dict[str, Any], *, is_base: bool) -> str:
    if spec.mode == ONE_AT_A_TIME and not is_base:
        shown = [k for k in spec.params if not _same(params[k], spec.base[k])]
    else:
        shown = spec.varied or list(spec.params)
    return " ".join(f"{k}={format_value(params[k])}" for k in shown)[:200]


def expand(spec: SweepSpec) -> list[Trial]:
    """The trials of a sweep, in the order they are started."""
    if not spec.params:
        raise EmptySweep(
            "nothing to sweep: give at least one --param NAME=V1,V2,... "
            "(example: --param window=20,50,100)"
        )
    for key, values in spec.params.items():
        if not values:
            raise EmptySweep(f"--param {key} has no values")
    if not spec.command:
        raise InvalidInput("no command given: pedigree sweep --param k=1,2 -- python script.py")
    count = spec.count()
    if count > MAX_TRIALS:
        raise InvalidInput(
            f"this sweep has {count:,} trials, more than the {MAX_TRIALS:,} allowed at once; "
            "sweep fewer values or split it"
        )
    return [
        Trial(
            index=i,
            params=params,
            argv=fill_placeholders(spec.command, params),
            name=_name(spec, params, is_base=i == 0),
        )
        for i, params in enumerate(_combinations(spec))
    ]
