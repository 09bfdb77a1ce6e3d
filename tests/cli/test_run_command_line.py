"""`pedigree run` without `--`: the command starts at the first argument that is not Pedigree's."""

from __future__ import annotations

import json

from tests.conftest import PYTHON, Project

ARGS = """\
import json, sys
import pedigree
print(json.dumps({"argv": sys.argv[1:], "params": pedigree.params()}))
"""


def last(project: Project) -> dict:  # type: ignore[type-arg]
    res = project.pedigree("show", "last", "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)  # type: ignore[no-any-return]


def test_python_dash_c_runs_without_double_dash(project: Project) -> None:
    res = project.pedigree("run", "-q", PYTHON, "-c", "print('ran')")
    assert res.code == 0, res.err
    assert res.out == "ran\n"
    assert last(project)["command"] == [PYTHON, "-c", "print('ran')"]


def test_options_after_the_command_are_the_commands(project: Project) -> None:
    project.write("x.py", ARGS)
    res = project.pedigree(
        "run", "-q", "-p", "window=50", PYTHON, "x.py", "-p", "x=1", "--window", "20"
    )
    assert res.code == 0, res.err
    seen = json.loads(res.out)
    assert seen["argv"] == ["-p", "x=1", "--window", "20"]  # the script's own options
    assert seen["params"] == {"window": 50}  # only the -p before the command is Pedigree's
    rec = last(project)
    assert rec["params"] == {"window": 50}
    assert rec["command"] == [PYTHON, "x.py", "-p", "x=1", "--window", "20"]


def test_double_dash_still_works_and_a_later_one_is_the_commands(project: Project) -> None:
    project.write("x.py", ARGS)
    res = project.pedigree("run", "-q", "--", PYTHON, "x.py", "--", "-q")
    assert res.code == 0, res.err
    assert json.loads(res.out)["argv"] == ["--", "-q"]


def test_an_unknown_option_before_the_command_is_an_error(project: Project) -> None:
    res = project.pedigree("run", "--no-such-option", PYTHON, "-c", "pass")
    assert res.code == 2
    assert "No such option" in res.err
    assert "Traceback" not in res.err
