"""The client side alone: credentials, and a server that is not there."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from tests.server.conftest import base_env, free_port, run_cli

from pedigree.credentials import forget, logged_in_url, remember, token_for


def test_credentials_are_the_user_s_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = remember("http://pedigree.internal:8080/", 'pdg_abc_"quoted"\\')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path == tmp_path / "config" / "pedigree" / "credentials.toml"
    assert logged_in_url() == "http://pedigree.internal:8080"
    assert token_for("http://PEDIGREE.internal:8080") == 'pdg_abc_"quoted"\\'
    assert token_for("http://elsewhere:8080") is None  # a token goes to its own server only
    monkeypatch.setenv("PEDIGREE_TOKEN", "from-env")
    assert token_for("http://elsewhere:8080") == "from-env"
    assert forget() is True
    assert forget() is False
    assert logged_in_url() is None


def test_a_server_that_is_not_there_is_exit_6_in_one_line(tmp_path: Path) -> None:
    env = base_env(tmp_path / "home")
    env.update(PEDIGREE_URI=f"http://127.0.0.1:{free_port()}", PEDIGREE_TOKEN="pdg_x_y")
    (tmp_path / "w").mkdir()
    res = run_cli("runs", cwd=tmp_path / "w", env=env)
    assert res.code == 6
    assert res.err.startswith("error: the team server at http://127.0.0.1:")
    assert len(res.err.strip().splitlines()) == 1
    assert "pdg_x_y" not in res.err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host", "starts with http:// or https://"),
        ("http://user:secret@host:8080", "no user, password"),
    ],
)
def test_login_refuses_a_url_that_is_not_a_server(tmp_path: Path, url: str, message: str) -> None:
    env = base_env(tmp_path / "home")
    res = run_cli("login", url, cwd=tmp_path, env=env, stdin="token\n")
    assert res.code == 2
    assert message in res.err
    assert "secret" not in res.err
    assert not (tmp_path / "home" / ".config" / "pedigree" / "credentials.toml").exists()
