"""One bad value is refused alone, at the call; the values around it are kept (issue 19 D)."""

from __future__ import annotations

import json
import sys

import pytest
from tests.client.test_run import Collect
from tests.conftest import Project

from pedigree.client.run import ActiveRun
from pedigree.errors import InvalidValue
from pedigree.values import MAX_STEP, MIN_STEP


@pytest.mark.parametrize("step", [2**63, -(2**63) - 1, 2**100])
def test_a_step_beyond_64_bits_is_refused_and_the_other_points_kept(step: int) -> None:
    sink = Collect()
    with ActiveRun("r", "e", None, sink) as run:
        for i in range(1000):
            run.log_metric("loss", 1.0 / (i + 1), step=i)
        with pytest.raises(InvalidValue, match="64-bit"):
            run.log_metric("loss", 0.5, step=step)
        run.log_metric("loss", 0.25, step=1000)
    assert len(sink.points) == 1001
    assert sink.finished == ("finished", None)


def test_the_64_bit_limits_themselves_are_accepted() -> None:
    sink = Collect()
    with ActiveRun("r", "e", None, sink) as run:
        run.log_metric("a", 1.0, step=MIN_STEP)
        run.log_metric("a", 2.0, step=MAX_STEP)
        with pytest.raises(InvalidValue, match="64-bit"):
            run.log_metric("a", 3.0)  # the next automatic step would overflow
    assert [p[1] for p in sink.points] == [MIN_STEP, MAX_STEP]


@pytest.mark.parametrize("key", ["a\udcffb", "\ud800"])
def test_a_metric_or_param_key_with_a_lone_surrogate_is_refused(key: str) -> None:
    sink = Collect()
    with ActiveRun("r", "e", None, sink) as run:
        run.log_metric("ok", 1.0)
        with pytest.raises(InvalidValue, match="lone surrogate"):
            run.log_metric(key, 1.0)
        with pytest.raises(InvalidValue, match="lone surrogate"):
            run.log_param(key, 1)
        with pytest.raises(InvalidValue, match="lone surrogate"):
            run.log_param("name", "x\udcff")
        run.log_param("name", "ünïcode is fine")
    assert [p[0] for p in sink.points] == ["ok"]
    assert sink.params == {"name": "ünïcode is fine"}


SCRIPT = """\
import pedigree
with pedigree.start_run() as run:
    for i in range(1000):
        run.log_metric("loss", 1.0 / (i + 1), step=i)
    for bad in (dict(key="loss", value=1.0, step=2**63), dict(key="a\\udcffb", value=1.0)):
        try:
            run.log_metric(**bad)
        except pedigree.PedigreeError as exc:
            print("refused:", exc)
    run.log_metric("final", 2.0)
"""


def test_under_pedigree_run_the_good_points_are_all_recorded(project: Project) -> None:
    project.write("log.py", SCRIPT)
    res = project.pedigree("run", "--", sys.executable, "log.py")
    assert res.code == 0, res.err
    assert res.out.count("refused:") == 2
    shown = json.loads(project.pedigree("show", "last", "--json").out)
    assert shown["status"] == "finished"
    assert shown["metrics"]["final"] == 2.0
    assert shown["metrics"]["loss"] == pytest.approx(1 / 1000)
