"""``--where`` on tags (``tags.KEY``) and on reviews (``review``), on SQLite and PostgreSQL.

Tags are written through the domain (``tracking.tags``) so the events, their numbering and the
projection are the real ones; reviews through ``audit.approvals.review``.
"""

from __future__ import annotations

from typing import Any

import pytest

from pedigree.audit.approvals import review
from pedigree.config import init_project
from pedigree.context import Actor, Context
from pedigree.errors import InvalidQuery, NotFound
from pedigree.store.where import parse_order_by, parse_where
from pedigree.tracking.recording import create_run, end_run
from pedigree.tracking.tags import tag, untag


@pytest.fixture
def ctx(any_project: Any) -> Context:
    project, _ = init_project(any_project.root)
    return Context(project, actor=Actor("ana"))


def select(ctx: Context, where: str, order_by: str | None = None) -> list[str]:
    with ctx.read() as reader:
        return reader.select_runs(
            where=parse_where(where),
            order_by=parse_order_by(order_by) if order_by else (),
        )


@pytest.fixture
def runs(ctx: Context) -> dict[str, str]:
    ids = {}
    for name in ("a", "b", "c", "d"):
        ids[name] = create_run(ctx, experiment="e", name=name)
        end_run(ctx, ids[name], "finished")
    # Tags change after the runs ended; b's stage changes twice, d's is removed again.
    tag(ctx, ids["a"], {"stage": "candidate", "fold": 3})
    tag(ctx, ids["b"], {"stage": "research"})
    tag(ctx, ids["b"], {"stage": "candidate"})
    tag(ctx, ids["b"], {"stage": "production"})
    tag(ctx, ids["d"], {"stage": "candidate"})
    untag(ctx, ids["d"], ["stage"])
    review(ctx, ids["a"], "approved")
    review(ctx, ids["b"], "approved")
    review(ctx, ids["b"], "rejected")  # the latest review stands
    review(ctx, ids["c"], "rejected")
    review(ctx, ids["c"], "approved")
    return ids


def names(ids: dict[str, str], found: list[str]) -> set[str]:
    by_id = {v: k for k, v in ids.items()}
    return {by_id[i] for i in found}


def test_tags_in_where(ctx: Context, runs: dict[str, str]) -> None:
    assert names(runs, select(ctx, "tags.stage = 'candidate'")) == {"a"}
    assert names(runs, select(ctx, "tags.stage = 'production'")) == {"b"}
    assert names(runs, select(ctx, "tags.stage is null")) == {"c", "d"}
    assert names(runs, select(ctx, "tags.stage is not null")) == {"a", "b"}
    assert names(runs, select(ctx, "tags.stage in ('research', 'production')")) == {"b"}
    assert names(runs, select(ctx, "tags.stage not in ('production')")) == {"a"}
    assert names(runs, select(ctx, "tags.stage like 'cand%'")) == {"a"}
    assert names(runs, select(ctx, "tags.fold = 3")) == {"a"}  # a number compares as text
    assert names(runs, select(ctx, "tags.stage != 'candidate' or tags.fold = '3'")) == {"a", "b"}


def test_order_by_tag(ctx: Context, runs: dict[str, str]) -> None:
    ordered = select(ctx, "name in ('a', 'b', 'c')", order_by="tags.stage")
    assert ordered == [runs["a"], runs["b"], runs["c"]]  # candidate, production, then none


def test_review_in_where(ctx: Context, runs: dict[str, str]) -> None:
    assert names(runs, select(ctx, "review = 'approved'")) == {"a", "c"}
    assert names(runs, select(ctx, "review = 'rejected'")) == {"b"}
    assert names(runs, select(ctx, "review = 'none'")) == {"d"}
    assert names(runs, select(ctx, "review != 'none' and tags.stage = 'candidate'")) == {"a"}
    with pytest.raises(InvalidQuery, match="approved"):
        select(ctx, "review = 'approve'")


def test_the_tables_keep_every_change(ctx: Context, runs: dict[str, str]) -> None:
    with ctx.read() as reader:
        assert reader.tags([runs["b"], runs["d"]]) == {
            runs["b"]: {"stage": "production"},
            runs["d"]: {},
        }
        history = reader.tag_history(runs["d"])
    assert [(h["key"], h["number"], h["value"], h["actor"]) for h in history] == [
        ("stage", 1, "candidate", "ana"),
        ("stage", 2, None, "ana"),
    ]


def test_untag_of_a_missing_key_records_nothing(ctx: Context, runs: dict[str, str]) -> None:
    before = ctx.store.append([], actor="x")  # the last sequence number
    with pytest.raises(NotFound, match="no tag 'desk'"):
        untag(ctx, runs["a"], ["stage", "desk"])
    with ctx.read() as reader:
        assert reader.tags([runs["a"]])[runs["a"]] == {"fold": "3", "stage": "candidate"}
    assert ctx.store.append([], actor="x") == before
