"""The `pedigree` entry point: how a mistyped command line is reported."""

from __future__ import annotations

import pytest
from tests.conftest import Project


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["runs", "--limit", "x"], "error: Invalid value for '-l' / '--limit': 'x' is not a valid"),
        (["runs", "--bogus"], "error: No such option '--bogus' (see 'pedigree runs --help')"),
        (["bogus"], "error: No such command 'bogus' (see 'pedigree --help')"),
        (["reproduce"], "error: Missing argument 'RUN' (see 'pedigree reproduce --help')"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_code_2(
    project: Project, args: list[str], message: str
) -> None:
    res = project.pedigree(*args)
    assert res.code == 2
    assert res.err.startswith(message)
    assert len(res.err.strip().splitlines()) == 1
    assert "Usage:" not in res.err
    assert "Traceback" not in res.err
    assert res.out == ""
