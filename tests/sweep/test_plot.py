"""`pedigree plot`: a real PNG, recorded as an output of the sweep."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from tests.conftest import PYTHON, Project
from tests.sweep.helpers import show_json, sweep_json

from pedigree.digest import hash_file

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture
def swept(trial_project: Project) -> tuple[Project, dict]:  # type: ignore[type-arg]
    report = sweep_json(
        trial_project, "-e", "exp", "-p", "x=1,2,4,8", "-p", "y=a,b", "--metric", "score",
        "--", PYTHON, "trial.py",
    )  # fmt: skip
    return trial_project, report


def test_plot_writes_a_png_and_records_it_on_the_sweep(swept: tuple[Project, dict]) -> None:  # type: ignore[type-arg]
    project, report = swept
    sweep_id = report["sweep"]["id"]
    res = project.pedigree("plot", "last", "--x", "x", "--y", "score", "--by", "y",
                           "-o", "plots/score_vs_x.png")  # fmt: skip
    assert res.code == 2  # the folder must exist
    assert "folder plots does not exist" in res.err
    (project.root / "plots").mkdir()
    res = project.pedigree("plot", sweep_id[:13], "--x", "x", "--y", "score", "--by", "y",
                           "-o", "plots/score_vs_x.png")  # fmt: skip
    assert res.code == 0, res.err
    out = project.root / "plots" / "score_vs_x.png"
    assert res.out.splitlines() == [
        "wrote plots/score_vs_x.png (960x600 PNG: score against x, 8 trials in 2 lines)",
        f"recorded as an output of sweep {sweep_id}: plots/score_vs_x.png",
    ]
    assert png_size(out) == (960, 600)
    assert 15_000 < out.stat().st_size < 500_000  # a real chart, not an empty canvas
    outputs = show_json(project, sweep_id)["outputs"]
    assert outputs == [
        {
            "path": "plots/score_vs_x.png",
            "digest": str(hash_file(out)),
            "size": out.stat().st_size,
            "kind": "file",
            "declared": True,
            "modified": False,
        }
    ]
    # The bytes are in the object store.
    tracker = project.tracker()
    assert tracker.read_blob(outputs[0]["digest"]) == out.read_bytes()
    # The same plot again: the same bytes, nothing new to record.
    again = project.pedigree("plot", "last", "--x", "x", "--by", "y", "-o", "plots/score_vs_x.png")
    assert again.code == 0, again.err
    assert len(show_json(project, sweep_id)["outputs"]) == 1
    # Another chart under a recorded name: refused, and the recorded file is left alone.
    before = out.read_bytes()
    res = project.pedigree("plot", "last", "--x", "y", "--y", "args", "-o", "plots/score_vs_x.png")
    assert res.code == 4
    assert "already has another file recorded at plots/score_vs_x.png" in res.err
    assert out.read_bytes() == before
    assert sorted(p.name for p in (project.root / "plots").iterdir()) == ["score_vs_x.png"]


def test_categorical_axis_json_and_defaults(swept: tuple[Project, dict]) -> None:  # type: ignore[type-arg]
    project, _ = swept
    res = project.pedigree("plot", "--x", "y", "--json")  # y defaults to the sweep's metric
    assert res.code == 0, res.err
    info = json.loads(res.out)
    assert info["path"] == "score_vs_y.png"
    assert (info["y"], info["points"], info["width"], info["height"]) == ("score", 8, 960, 600)
    # One line per other varied parameter's value.
    assert info["series"] == ["x=1", "x=2", "x=4", "x=8"]
    assert png_size(project.root / "score_vs_y.png") == (960, 600)


def test_plot_outside_the_project_is_written_but_not_recorded(
    swept: tuple[Project, dict],
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    project, report = swept
    out = tmp_path / "elsewhere.png"
    res = project.pedigree("plot", "--x", "x", "--by", "y", "-o", str(out))
    assert res.code == 0, res.err
    assert png_size(out) == (960, 600)
    assert "not recorded as an output of the sweep: the file is outside the project" in res.out
    assert show_json(project, report["sweep"]["id"])["outputs"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--x", "window"), "error: --x window: sweep "),
        (("--x", "x", "--y", "sharpe"), "error: no trial of sweep "),
        (("--x", "x", "--by", "x"), "error: --by must name another parameter than --x"),
        (("--y", "score"), "error: say which parameter goes on the x axis: --x NAME"),
        (("--x", "x", "-o", "plot.svg"), "error: -o plot.svg: the plot is a PNG"),
    ],
)
def test_bad_plot_requests(
    swept: tuple[Project, dict],
    args: tuple[str, ...],
    message: str,  # type: ignore[type-arg]
) -> None:
    project, _ = swept
    res = project.pedigree("plot", *args)
    assert res.code == 2
    assert res.err.startswith(message), res.err
    assert not list(project.root.glob("*.png"))


def test_one_at_a_time_plots_the_trials_at_the_base(trial_project: Project) -> None:
    sweep_json(trial_project, "--one-at-a-time", "-p", "x=2,1,4", "-p", "y=a,b",
               "--metric", "score", "--", PYTHON, "trial.py")  # fmt: skip
    res = trial_project.pedigree("plot", "--x", "x", "--json")
    assert res.code == 0, res.err
    info = json.loads(res.out)
    # x varies with y at its base (a); the trial that varies y is not on this chart.
    assert (info["points"], info["series"]) == (3, ["score"])
