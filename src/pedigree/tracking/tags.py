"""Tags of a run: labels (``stage=candidate``, ``desk=rates``) set and removed at any time.

Parameters and metrics are what a run *was* and never change once it ended; tags are what people
say *about* it, so they may change later (``pedigree tag RUN stage=production``). Every change
is an event (``run.tagged`` / ``run.untagged``) in the audit chain with its actor and time, kept
whole in ``run_tags``: the current value of a key is its last change. Tags are text; ``runs
--where "tags.stage = 'candidate'"`` finds them.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Actor, Context
>>> from pedigree.tracking.recording import create_run
>>> project, _ = init_project(tempfile.mkdtemp())
>>> ctx = Context(project, actor=Actor("maria"))
>>> run_id = create_run(ctx, experiment="ma-crossover", tags={"stage": "research"})
>>> tag(ctx, "last", {"stage": "candidate", "desk": "rates"})["tags"]
{'desk': 'rates', 'stage': 'candidate'}
>>> untag(ctx, "last", ["desk"])["tags"]
{'stage': 'candidate'}
>>> parse_assignments(["stage=candidate", "note=a=b"])
{'stage': 'candidate', 'note': 'a=b'}
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pedigree.errors import InvalidInput, NotFound
from pedigree.times import iso
from pedigree.values import check_key, check_tags

if TYPE_CHECKING:
    from pedigree.context import Context
    from pedigree.store.events import Event
    from pedigree.store.reader import Reader

__all__ = ["enrich_records", "parse_assignments", "tag", "tag_events", "untag"]


def parse_assignments(items: Iterable[str], *, what: str = "tag") -> dict[str, str]:
    """``KEY=VALUE`` texts as a mapping (the value may hold ``=``; the last of a key wins)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidInput(f"a {what} is KEY=VALUE, not {item!r}")
        check_key(key, f"{what} name")
        out[key] = value
    return out


def tag_events(
    run_id: str,
    tags: Mapping[str, str],
    numbers: Mapping[str, int],
    *,
    actor: str | None,
    at: float | None = None,
) -> list[Event]:
    """The events setting ``tags`` on a run whose keys have changed ``numbers`` times so far
    (a key already at its value is left alone: nothing changed)."""
    from pedigree.store.events import RunTagged  # here: a read needs no events

    when = time.time() if at is None else at
    return [
        RunTagged(
            run_id=run_id,
            key=key,
            number=numbers.get(key, 0) + 1,
            value=value,
            actor=actor,
            at=when,
        )
        for key, value in sorted(tags.items())
    ]


def _result(reader: Reader, run_id: str, changed: Sequence[Event]) -> dict[str, Any]:
    return {
        "run": run_id,
        "changed": [{**e.payload(), "at": iso(e.payload()["at"])} for e in changed],
        "tags": reader.tags([run_id])[run_id],
    }


def tag(ctx: Context, run: str, tags: Mapping[str, Any]) -> dict[str, Any]:
    """Set tags on a run (any status: tags may change after it ended); returns ``{run, changed,
    tags}`` with the run's tags afterwards. A key already at that value records nothing."""
    values = check_tags(dict(tags))
    if not values:
        raise InvalidInput("give at least one tag as KEY=VALUE")
    made: list[Event] = []
    found: list[str] = []

    def build(reader: Reader) -> list[Event]:
        run_id = reader.resolve_run(run)
        found.append(run_id)
        current = reader.tags([run_id])[run_id]
        new = {k: v for k, v in values.items() if current.get(k) != v}
        made[:] = tag_events(run_id, new, reader.tag_numbers(run_id), actor=ctx.user)
        return made

    ctx.write(build)
    with ctx.read() as reader:
        return _result(reader, found[-1], made)


def untag(ctx: Context, run: str, keys: Sequence[str]) -> dict[str, Any]:
    """Remove tags from a run; a key the run does not have is refused (nothing is recorded)."""
    if not keys:
        raise InvalidInput("give at least one tag name to remove")
    for key in keys:
        check_key(key, "tag name")
    made: list[Event] = []
    found: list[str] = []

    def build(reader: Reader) -> list[Event]:
        run_id = reader.resolve_run(run)
        found.append(run_id)
        current = reader.tags([run_id])[run_id]
        missing = [k for k in keys if k not in current]
        if missing:
            have = ", ".join(sorted(current)) or "none"
            raise NotFound(f"run {run_id} has no tag {missing[0]!r} (its tags: {have})")
        from pedigree.store.events import RunUntagged

        numbers = reader.tag_numbers(run_id)
        at = time.time()
        made[:] = [
            RunUntagged(run_id=run_id, key=k, number=numbers[k] + 1, actor=ctx.user, at=at)
            for k in sorted(set(keys))
        ]
        return made

    ctx.write(build)
    with ctx.read() as reader:
        return _result(reader, found[-1], made)


def enrich_records(reader: Reader, records: list[dict[str, Any]], detail: bool) -> None:
    """Add ``tags`` {key: value} to run records, and for ``show`` (``detail``) ``tag_history``:
    every change, oldest first, with who made it and when (value None: removed)."""
    if not records:
        return
    ids = [r["id"] for r in records]
    current = reader.tags(ids)
    for record in records:
        record["tags"] = current.get(record["id"], {})
        if detail:
            record["tag_history"] = [
                {"key": h["key"], "value": h["value"], "actor": h["actor"], "at": iso(h["at"])}
                for h in reader.tag_history(record["id"])
            ]
