"""The side-by-side benchmark's harness, and its Pedigree sides at a tiny scale.

MLflow and DVC are not installed here (they live in ``.venv-bench``, made by
``make bench-compare``), so the anchors are stand-ins: the harness is checked with sides whose
times and answers are known, and the real Pedigree sides run against stand-ins that answer
from the same independently computed expectations the real anchors are held to.

This folder has no ``__init__.py`` on purpose: as a package it would be imported as
``benchmarks`` and hide the repository's ``benchmarks/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.compare import harness, report  # noqa: E402
from benchmarks.compare.harness import Side, Timed, WrongAnswer, alternate  # noqa: E402


class Clock:
    """A fake clock: every side advances it by the time it is given, so samples are exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def timed_side(name: str, times: list[float], clock: Clock, calls: list[str], **kw: Any) -> Side:
    it: Iterator[float] = iter(times)

    def run() -> str:
        calls.append(name)
        clock.now += next(it)
        return name

    return Side(name, run=run, check=lambda answer: harness.expect(answer == name, "x"), **kw)


# -- the harness -------------------------------------------------------------------------------


def test_alternates_a_b_and_counts_only_after_the_warmup() -> None:
    clock, calls = Clock(), []
    a = timed_side("A", [9.0, 1.0, 2.0, 4.0], clock, calls)
    b = timed_side("B", [9.0, 3.0, 2.0, 20.0], clock, calls)
    case = alternate("w", "c", [a, b], pairs=3, warmup=1, clock=clock)
    assert calls == ["A", "B"] * 4
    assert case.order == ["A", "B"] * 4
    assert case.status == "ok"
    assert case.samples == {"A": [1.0, 2.0, 4.0], "B": [3.0, 2.0, 20.0]}  # warm-up dropped
    assert case.medians == {"A": 2.0, "B": 3.0}
    ratio = case.ratios["B"]  # per round: 3/1, 2/2, 20/4
    assert (ratio.median, ratio.min, ratio.max) == (3.0, 1.0, 5.0)
    diff = case.differences["B"]  # per round: 1-3, 2-2, 4-20
    assert (diff.median, diff.min, diff.max) == (-2.0, -16.0, 0.0)
    assert case.roles == {"A": "subject", "B": "anchor"}


def test_three_sides_rotate_and_prepare_runs_before_every_sample() -> None:
    clock, calls = Clock(), []
    sides = [
        timed_side(n, [1.0] * 3, clock, calls, prepare=lambda n=n: calls.append(f"prep {n}"))
        for n in "ABC"
    ]
    case = alternate("w", "c", sides, pairs=2, warmup=1, clock=clock)
    assert case.order == ["A", "B", "C"] * 3
    assert calls[:6] == ["prep A", "A", "prep B", "B", "prep C", "C"]
    assert set(case.ratios) == {"B", "C"}


def test_a_side_that_times_itself_reports_its_own_seconds() -> None:
    values = iter([0.5, 0.25, 0.125])
    side = Side("A", run=lambda: Timed(next(values), "answer"), check=lambda a: None)
    case = alternate("w", "c", [side], pairs=2, warmup=1)
    assert case.samples["A"] == [0.25, 0.125]
    assert case.medians["A"] == pytest.approx(0.1875)
    assert case.ratios == {}


def test_a_fast_wrong_answer_fails_the_case_and_never_counts() -> None:
    clock, calls = Clock(), []
    good = timed_side("A", [1.0] * 4, clock, calls)
    answers = iter(["B", "B", "wrong", "B"])

    def run() -> str:
        return next(answers)

    def check(answer: str) -> None:
        harness.expect(answer == "B", f"got {answer!r}")

    fast_wrong = Side("B", run=run, check=check)
    case = alternate("w", "c", [good, fast_wrong], pairs=3, warmup=1, clock=clock)
    assert case.status == "failed"
    assert "wrong answer" in case.reason
    assert "B: got 'wrong'" in case.reason
    assert case.samples["B"] == [0.0]  # only the sample before the wrong one
    assert case.order == ["A", "B", "A", "B", "A", "B"]  # stopped at the wrong answer


def test_a_wrong_answer_in_the_warmup_also_fails() -> None:
    side = Side("A", run=lambda: 1, check=lambda a: harness.expect(a == 2, "not 2"))
    case = alternate("w", "c", [side], pairs=3, warmup=1)
    assert case.status == "failed"
    assert case.samples == {"A": []}


def test_expect_is_not_an_assert_that_vanishes_under_optimisation() -> None:
    with pytest.raises(WrongAnswer, match="boom"):
        harness.expect(False, "boom")


def test_json_lines_and_the_published_section(tmp_path: Path) -> None:
    clock, calls = Clock(), []
    cases = [
        alternate(
            "log_run",
            "per-step",
            [
                timed_side("pedigree", [1.0, 0.25, 0.5, 0.125], clock, calls),
                timed_side("mlflow", [1.0, 2.0, 8.0, 2.0], clock, calls),
            ],
            pairs=3,
            warmup=1,
            unit="run",
            clock=clock,
        ),
        alternate(
            "lineage",
            "upstream",
            [timed_side("pedigree", [1.0, 0.5, 0.5, 0.5], clock, calls)],
            pairs=3,
            warmup=1,
            clock=clock,
        ),
        harness.not_run("sweep", "40 trials", ["pedigree sweep"], "`pedigree sweep` missing"),
    ]
    cases[0].extra["points_per_run"] = 2000
    out = tmp_path / "results" / "compare.jsonl"
    header = {"at": "2026-01-02T03:04:05+00:00", "machine": {"cores": 2}}
    harness.write_jsonl(out, cases, header)
    harness.write_jsonl(out, cases[:1], header)  # appends
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 4
    first = lines[0]
    assert first["workload"] == "log_run"
    assert first["invocation"]["machine"] == {"cores": 2}
    # (the fake clock's steps are binary fractions, so the sums are exact)
    assert first["samples"] == {"pedigree": [0.25, 0.5, 0.125], "mlflow": [2.0, 8.0, 2.0]}
    assert first["medians"] == {"pedigree": 0.25, "mlflow": 2.0}
    assert first["ratios"]["mlflow"] == {"median": 16.0, "min": 8.0, "max": 16.0}
    assert lines[2]["status"] == "not run"
    assert "missing" in lines[2]["reason"]
    # A summary's cases come back as they were (`--republish` rebuilds the table from them).
    back = harness.Case.from_json(cases[0].to_json())
    assert back.to_json() == cases[0].to_json()
    assert back.ratios["mlflow"].max == 16.0

    rows = report.table(cases)
    assert rows[2].startswith("| log_run | per-step | 3 | run | 250.0 ms | mlflow | 2.00 s | 16.0x")
    assert "16.0x (8.00x to 16.0x) | Pedigree faster |" in rows[2]
    assert "no equivalent in MLflow or DVC" in rows[3]
    assert "not run: `pedigree sweep` missing" in rows[4]
    summary_line = report.slower_than_anchors(cases)
    assert "faster than MLflow and DVC in every case" in summary_line
    assert "Not measured: sweep 40 trials." in summary_line
    flipped = harness.Case.from_json(cases[0].to_json())
    flipped.samples = {"pedigree": [2.0, 2.0, 2.0], "mlflow": [1.0, 1.0, 4.0]}
    assert "slower than an anchor** in: log_run per-step (vs mlflow: 0.50x)" in (
        report.slower_than_anchors([flipped])
    )
    assert "**Pedigree slower**" in report.table([flipped])[2]

    doc = tmp_path / "performance.md"
    before = "# Performance\n\n## Before\n\nkept\n\n"
    doc.write_text(before + report.SECTION + "\n\nold\n\n## After\n\nkept too\n")
    report.publish(doc, report.SECTION + "\n\nnew table\n")
    text = doc.read_text()
    assert "old" not in text
    assert "new table" in text
    assert text.index("## Before") < text.index("new table") < text.index("## After")
    assert "kept\n" in text
    assert text.endswith("kept too\n")


# -- the real Pedigree sides, against stand-in anchors -------------------------------------------


@pytest.fixture
def bench_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "bench")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "bench@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "bench")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "bench@example.com")


def test_search_pedigree_against_a_stand_in_anchor(tmp_path: Path) -> None:
    from benchmarks.compare import search

    uri, data = search.load_pedigree(tmp_path, 1000)
    expected = data.expected()
    assert len(expected) == search.TOP
    ped = search.pedigree_side(tmp_path, uri, data)
    # The stand-in answers from the expected list; the real anchor is held to the same list.
    stand_in = Side(
        "stand-in",
        run=lambda: list(expected),
        check=lambda a: harness.expect(a == expected, "wrong"),
    )
    case = alternate("search", "1,000 runs", [ped, stand_in], pairs=3, warmup=1)
    assert case.status == "ok", case.reason
    assert len(case.samples["pedigree"]) == 3
    assert case.ratios["stand-in"].median > 0

    # A Pedigree answer in the wrong order is caught.
    answer = ped.run()
    ped.check(answer)
    with pytest.raises(WrongAnswer):
        ped.check(list(reversed(answer)))
    with pytest.raises(WrongAnswer):
        ped.check(answer[:-1])


@pytest.mark.slow
def test_log_run_worker_for_pedigree_is_checked_from_the_database(
    tmp_path: Path, bench_env: None
) -> None:
    from benchmarks.compare import log_run

    project = log_run.Project(tmp_path / "p", "pedigree", None)
    project.prepare()
    result = log_run._worker(project, "per-step", 1)
    assert 0 < result.seconds < 60
    log_run.check_pedigree(result.answer, 1)
    with pytest.raises(WrongAnswer, match="runs recorded"):
        log_run.check_pedigree(result.answer, 2)
    # A run whose stored metric values differ is caught.
    import sqlite3

    run_id = result.answer["ids"][0]
    db = sqlite3.connect(tmp_path / "p" / ".pedigree" / "pedigree.db")
    first_point = "select min(id) from metrics where run_id = ?"
    db.execute(f"update metrics set value = value + 1 where id = ({first_point})", (run_id,))
    db.commit()
    db.close()
    with pytest.raises(WrongAnswer, match="metric values differ"):
        log_run.check_pedigree(result.answer, 1)


@pytest.mark.slow
def test_hash_data_pedigree_digest_matches_the_independent_manifest(tmp_path: Path) -> None:
    from benchmarks.compare import hash_data

    data = hash_data.Data(total_mib=4, files=4)
    project = hash_data.PedigreeProject(tmp_path / "ped", data)
    data.write([project.root / "data"])
    raw = hash_data.raw_blake3(project.root / "data", sorted(data.files))
    assert raw == data.b3

    project.reset()
    first = project.add()
    project.check(first, created=True)
    again = project.add()
    project.check(again, created=False)
    with pytest.raises(WrongAnswer, match="created"):
        project.check(again, created=True)

    data.change([project.root / "data"], salt="smoke")
    changed = project.add()
    project.check(changed, created=True)
    assert changed["digest"] != first["digest"]
    with pytest.raises(WrongAnswer, match="digest"):
        project.check(first)  # the old digest no longer matches the folder


@pytest.mark.slow
def test_the_suite_runs_end_to_end_without_the_anchors(tmp_path: Path) -> None:
    """`python -m benchmarks.compare --only lineage` at a tiny scale: the real entry point."""
    out = tmp_path / "compare.jsonl"
    suite = [sys.executable, "-m", "benchmarks.compare", "--results", str(out)]
    tiny = ["--lineage-runs", "1000", "--lineage-samples", "3"]
    proc = subprocess.run(
        [*suite, "--only", "lineage", *tiny], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [c["workload"] for c in lines] == ["lineage", "lineage"]
    assert all(c["status"] == "ok" and len(c["samples"]["pedigree"]) == 3 for c in lines)
    assert "upstream of a run" in proc.stdout

    # Asking for a workload whose anchor is missing says how to get it, instead of a number.
    # (DVC lives only in the benchmark's own virtualenv; MLflow is in the dev extra now, for the
    # import tests, so a DVC workload is the one whose anchor is missing here.)
    proc = subprocess.run(
        [*suite, "--only", "hash_data"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "make bench-compare" in proc.stderr


def test_a_workload_that_breaks_is_reported_and_the_others_still_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks.compare import __main__ as suite

    def broken(work: Path, **_: object) -> list[harness.Case]:
        raise RuntimeError("no graph today")

    def fine(work: Path, *, pairs: int, warmup: int, **_: object) -> list[harness.Case]:
        side = Side("pedigree", run=lambda: Timed(0.5, "ok"), check=lambda a: None)
        return [alternate("fine", "case", [side], pairs=pairs, warmup=warmup)]

    monkeypatch.setattr(suite, "WORKLOADS", {"broken": broken, "fine": fine})
    monkeypatch.setattr(suite, "quiet_environment", lambda home: None)
    out = tmp_path / "compare.jsonl"
    assert suite.main(["--results", str(out)]) == 1  # a failed case fails the suite
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(c["workload"], c["status"]) for c in lines] == [("broken", "failed"), ("fine", "ok")]
    assert "no graph today" in lines[0]["reason"]
    assert lines[1]["samples"] == {"pedigree": [0.5, 0.5, 0.5]}
