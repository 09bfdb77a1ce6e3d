"""`pedigree run -p k=v -p k=w` is refused: the last one silently winning is not a record."""

from __future__ import annotations

import sys
from typing import Any

from tests.conftest import Project


def test_a_parameter_given_twice_is_a_usage_error(project: Project, cli: Any) -> None:
    project.write("s.py", "print('ran')\n")
    res = cli("run", "-p", "k=1", "-p", "k=2", "--", sys.executable, "s.py")
    assert res.code == 2
    assert res.err.strip() == "error: --param k is given twice; give each parameter once"
    assert "ran" not in res.out
    assert cli("runs", "--json").out.strip() == "[]"
