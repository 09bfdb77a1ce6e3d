"""The SDK, standalone (recording in-process) and attached (under `pedigree run`)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import pedigree
from pedigree.errors import InvalidInput, StoreNotFound

SCRIPT = textwrap.dedent(
    """
    import pedigree
    p = pedigree.params(window=50, instrument="AAPL")
    with pedigree.start_run(experiment="ma-crossover", name=f"w{p.window}") as run:
        run.log_params({"fee_bps": 2})
        for step, pnl in enumerate([0.1, -0.2, 0.3]):
            run.log_metric("pnl", pnl, step=step)
        run.log_metrics({"sharpe": p.window / 40, "max_drawdown": -0.21})
    print(run.id)
    """
)


@pytest.fixture(autouse=True)
def _no_active_run():  # type: ignore[no-untyped-def]
    yield
    pedigree.end_run()


def test_the_issue_example_in_process(any_project) -> None:  # type: ignore[no-untyped-def]
    p = pedigree.params(window=50, instrument="AAPL")
    with pedigree.start_run(experiment="ma-crossover", name="w50") as run:
        run.log_params({"fee_bps": 2})
        for step, pnl in enumerate([0.5, -0.25, 1.0]):
            run.log_metric("pnl", pnl, step=step)
        run.log_metrics({"sharpe": 1.31, "max_drawdown": -0.21})
    rec = pedigree.get_run(run.id)
    assert p.window == 50
    assert rec["status"] == "finished"
    assert rec["experiment"] == "ma-crossover"
    assert rec["name"] == "w50"
    assert rec["params"] == {"window": 50, "instrument": "AAPL", "fee_bps": 2}
    assert rec["metrics"] == {"pnl": 1.0, "sharpe": 1.31, "max_drawdown": -0.21}
    assert rec["code"]["commit"]
    assert rec["environment"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert rec["environment"]["packages_digest"].startswith("blake3:")


def test_module_level_shortcuts_act_on_the_active_run(project) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="no active run"):
        pedigree.log_metric("x", 1)
    run = pedigree.start_run(experiment="e")
    pedigree.log_param("a", 1)
    pedigree.log_params({"b": "two"})
    pedigree.log_metric("m", 3.0)
    pedigree.log_metrics({"n": 4.0})
    assert pedigree.active_run() is run
    with pytest.raises(InvalidInput, match="already active"):
        pedigree.start_run(experiment="e")
    pedigree.end_run()
    assert pedigree.active_run() is None
    rec = pedigree.get_run(run.id)
    assert rec["params"] == {"a": 1, "b": "two"}
    assert rec["metrics"] == {"m": 3.0, "n": 4.0}
    assert rec["status"] == "finished"


def test_an_exception_closes_the_run_as_failed(project) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="bad data"), pedigree.start_run(experiment="e") as run:
        run.log_metric("m", 1.0)
        raise ValueError("bad data")
    rec = pedigree.get_run(run.id)
    assert rec["status"] == "failed"
    assert rec["error"] == "ValueError: bad data"
    assert rec["metrics"] == {"m": 1.0}


def test_an_ended_run_cannot_be_changed(project) -> None:  # type: ignore[no-untyped-def]
    from pedigree.errors import RunImmutable

    with pedigree.start_run(experiment="e") as run:
        run.log_params({"a": 1})
    with pytest.raises(RunImmutable, match="has ended"):
        project.tracker().log_params(run.id, {"a": 2})
    with pytest.raises(RunImmutable):
        project.tracker().log_metrics(run.id, [["m", 0, 1.0, 0.0]])


def test_queries_from_the_sdk_match_the_cli(project) -> None:  # type: ignore[no-untyped-def]
    for window in (10, 20, 50):
        pedigree.params(window=window)  # the last declaration wins for the next run
        with pedigree.start_run(experiment="ma") as run:
            run.log_params({"window": window})
            run.log_metric("sharpe", window / 20)
    got = pedigree.runs(experiment="ma", where="metrics.sharpe > 0.9", order_by="-metrics.sharpe")
    assert [r["params"]["window"] for r in got] == [50, 20]
    cli = project.pedigree(
        "runs",
        "--experiment",
        "ma",
        "--where",
        "metrics.sharpe > 0.9",
        "--order-by",
        "-metrics.sharpe",
        "--json",
    )
    assert cli.code == 0, cli.err
    assert json.loads(cli.out) == got
    frame = pedigree.runs_frame(experiment="ma", order_by="params.window")
    assert list(frame["params.window"]) == [10, 20, 50]
    assert list(frame["metrics.sharpe"]) == [0.5, 1.0, 2.5]
    assert str(frame["started_at"].dtype).startswith("datetime64")


def test_no_store_says_how_to_make_one(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreNotFound) as info:
        pedigree.start_run(experiment="e")
    assert info.value.hint is not None
    assert "pedigree init" in info.value.hint


def test_a_standalone_script_records_itself(project) -> None:  # type: ignore[no-untyped-def]
    project.write("bt.py", SCRIPT)
    out = subprocess.run(
        [sys.executable, "bt.py"], cwd=project.root, capture_output=True, text=True, check=True
    )
    rec = pedigree.get_run(out.stdout.strip())
    assert rec["status"] == "finished"
    assert rec["name"] == "w50"
    assert rec["metrics"]["sharpe"] == 1.25
    assert rec["command"][-1] == "bt.py"


def test_under_pedigree_run_the_sdk_attaches_instead_of_making_a_second_run(project) -> None:  # type: ignore[no-untyped-def]
    project.write("bt.py", SCRIPT)
    res = project.pedigree("run", "--param", "window=20", "--", sys.executable, "bt.py")
    assert res.code == 0, res.err
    runs = pedigree.runs()
    assert len(runs) == 1
    rec = pedigree.get_run(runs[0]["id"])
    assert res.out.strip() == rec["id"]  # the script's run is the recorder's run
    assert rec["experiment"] == "ma-crossover"  # from start_run(), as --experiment was not given
    assert rec["name"] == "w20"
    assert rec["params"] == {"window": 20, "instrument": "AAPL", "fee_bps": 2}
    assert rec["metrics"] == {"pnl": 0.3, "sharpe": 0.5, "max_drawdown": -0.21}


def test_explicit_experiment_on_the_command_line_wins(project) -> None:  # type: ignore[no-untyped-def]
    project.write("bt.py", SCRIPT)
    res = project.pedigree("run", "-e", "chosen", "-n", "mine", "--", sys.executable, "bt.py")
    assert res.code == 0, res.err
    rec = pedigree.get_run("last")
    assert (rec["experiment"], rec["name"]) == ("chosen", "mine")


def test_seed_everything_uses_the_run_seed_and_records_it(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "seeded.py",
        "import pedigree, random\n"
        "import numpy\n"
        "s = pedigree.seed_everything()\n"
        "print(s, random.random(), numpy.random.rand())\n",
    )
    first = project.pedigree("run", "--seed", "7", "--", sys.executable, "seeded.py")
    second = project.pedigree("run", "--seed", "7", "--", sys.executable, "seeded.py")
    assert first.code == 0, first.err
    assert first.out == second.out
    assert first.out.split()[0] == "7"
    assert pedigree.get_run("last")["seed"] == 7


def test_a_caught_exception_inside_start_run_still_marks_the_run_failed(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "caught.py",
        "import pedigree\n"
        "try:\n"
        "    with pedigree.start_run():\n"
        "        raise RuntimeError('inside')\n"
        "except RuntimeError:\n"
        "    pass\n",
    )
    res = project.pedigree("run", "--", sys.executable, "caught.py")
    assert res.code == 0
    rec = pedigree.get_run("last")
    assert rec["status"] == "failed"
    assert rec["error"] == "RuntimeError: inside"


def test_module_level_shortcuts_under_pedigree_run_need_no_start_run(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "loose.py",
        "import pedigree\npedigree.log_metric('sharpe', 1.5)\npedigree.log_params({'w': 3})\n",
    )
    res = project.pedigree("run", "--", sys.executable, "loose.py")
    assert res.code == 0, res.err
    rec = pedigree.get_run("last")
    assert rec["metrics"] == {"sharpe": 1.5}
    assert rec["params"] == {"w": 3}


def test_a_seed_drawn_inside_the_script_is_recorded(project) -> None:  # type: ignore[no-untyped-def]
    project.write("draw.py", "import pedigree\nprint(pedigree.seed_everything())\n")
    res = project.pedigree("run", "-q", "--", sys.executable, "draw.py")
    assert res.code == 0, res.err
    assert pedigree.get_run("last")["seed"] == int(res.out)
    with pedigree.start_run() as run:
        pedigree.seed_everything(1234)
    assert pedigree.get_run(run.id)["seed"] == 1234
