"""`pedigree runs`, `show`, `logs`, `--help` and `--version`."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from tests.conftest import PYTHON, Project

import pedigree
from pedigree.cli.main import COMMANDS

SHOW_FIELDS = {
    "id",
    "experiment",
    "name",
    "status",
    "command",
    "exit_code",
    "started_at",
    "ended_at",
    "user",
    "host",
    "params",
    "metrics",
    "code",
    "environment",
}


@pytest.fixture
def sweep(project: Project) -> Project:
    for window in (10, 20, 50, 100):
        pedigree.params(window=window, instrument="AAPL")
        with pedigree.start_run(experiment="ma-crossover", name=f"w{window}") as run:
            run.log_metric("sharpe", window / 40)
            run.log_metric("max_drawdown", -window / 1000)
    with pedigree.start_run(experiment="other") as run:
        run.log_metric("sharpe", 9.0)
    return project


def test_the_issue_query_prints_a_readable_table(sweep: Project, cli) -> None:  # type: ignore[no-untyped-def]
    res = cli(
        "runs",
        "--experiment",
        "ma-crossover",
        "--where",
        "metrics.sharpe > 1 and params.window >= 20",
        "--order-by",
        "-metrics.sharpe",
        "--limit",
        "20",
    )
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    header = lines[0].split()
    assert header[:3] == ["run", "experiment", "name"]
    assert "sharpe" in header
    assert "window" in header
    names = [line.split()[2] for line in lines[1:]]
    assert names == ["w100", "w50"]


def test_runs_json_is_one_array_of_run_objects(sweep: Project, cli) -> None:  # type: ignore[no-untyped-def]
    res = cli("runs", "--json", "--order-by", "params.window", "-e", "ma-crossover")
    runs = json.loads(res.out)
    assert [r["params"]["window"] for r in runs] == [10, 20, 50, 100]
    for r in runs:
        assert set(r) >= SHOW_FIELDS
    assert runs == pedigree.runs(experiment="ma-crossover", order_by="params.window")


def test_show_json_has_the_documented_fields(sweep: Project, cli) -> None:  # type: ignore[no-untyped-def]
    res = cli("show", "last", "--json")
    rec = json.loads(res.out)
    assert set(rec) >= SHOW_FIELDS
    assert set(rec["code"]) >= {"commit", "branch", "remote", "dirty", "patch_digest"}
    assert set(rec["environment"]) >= {"python", "platform", "packages_digest"}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", rec["started_at"])
    assert rec == pedigree.get_run(rec["id"])
    # a unique prefix works, and so does the full id
    assert json.loads(cli("show", rec["id"][:20], "--json").out)["id"] == rec["id"]


def test_show_text(sweep: Project, cli) -> None:  # type: ignore[no-untyped-def]
    res = cli("show", "last")
    assert res.code == 0
    assert "experiment   other" in res.out
    assert "sharpe" in res.out
    assert "environment" in res.out


def test_non_finite_metrics_in_json_are_strings(project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    with pedigree.start_run() as run:
        run.log_metrics({"nan": float("nan"), "inf": float("inf")})
    rec = json.loads(cli("show", "last", "--json").out)
    assert rec["metrics"] == {"inf": "Infinity", "nan": "NaN"}
    table = cli("runs").out
    assert "NaN" in table
    assert "inf" in table


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["runs", "--where", "metrics.sharpe >"], 2, "ends too early"),
        (["runs", "--where", "sharpe > 1"], 2, "unknown field 'sharpe'"),
        (["runs", "--order-by", "-"], 2, "cannot order by"),
        (["runs", "--limit", "0"], 2, "at least 1"),
        (["show", "ffffffffffff"], 3, "no run with an id starting"),
        (["show", "nonsense!"], 3, "no run"),
        (["logs", "ffffffff"], 3, "no run"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(
    sweep: Project,
    cli,
    args: list[str],
    code: int,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    res = cli(*args)
    assert res.code == code
    assert res.err.startswith("error: ")
    assert message in res.err
    assert res.err.count("\n") == 1
    assert "Traceback" not in res.err


def test_an_ambiguous_prefix_lists_candidates(sweep: Project, cli) -> None:  # type: ignore[no-untyped-def]
    first = pedigree.runs()[0]["id"]
    res = cli("show", first[:8])
    assert res.code == 2
    assert "matches several runs" in res.err


def test_empty_store(project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("runs").err == "no runs match\n"
    assert cli("runs", "--json").out.strip() == "[]"
    res = cli("show", "last")
    assert res.code == 3
    assert "no runs yet" in res.err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_with_an_example(command: str, cli) -> None:  # type: ignore[no-untyped-def]
    res = cli(command, "--help")
    assert res.code == 0
    assert "Example" in res.out
    assert f"pedigree {command}" in res.out


def test_version_is_fast_and_loads_no_database_code() -> None:
    code = (
        "import sys\n"
        "from pedigree.cli.main import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'alembic', 'rich'))))\n"
    )
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True).stdout
    version, loaded = out.splitlines()
    assert version == f"pedigree, version {pedigree.__version__}"
    assert loaded == "[]"
