"""Passwords of the web UI's login: stored as argon2id hashes through the audit chain, checked
without saying what was wrong, never printed, and a forged hash fails `audit verify`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from tests.conftest import PYTHON, Project

from pedigree.api import Tracker
from pedigree.config import init_project
from pedigree.context import Actor
from pedigree.errors import InvalidInput, NotFound
from pedigree.identity import AuthError

PASSWORD = "correct horse battery staple"


@pytest.fixture
def tracker(tmp_path: Path) -> Tracker:
    project, _ = init_project(tmp_path)
    t = Tracker(project, actor=Actor("root"))
    t.users.add("ann", role="reviewer")
    return t


def test_a_password_signs_its_user_in_with_their_role(tracker: Tracker) -> None:
    tracker.users.passwd("ann", PASSWORD)
    who = tracker.users.check_password("ann", PASSWORD)
    assert (who.user, who.role) == ("ann", "reviewer")
    tracker.users.set_role("ann", "auditor")
    assert tracker.users.check_password("ann", PASSWORD).role == "auditor"
    events = [e["kind"] for e in tracker.audit.log()]
    assert events.count("user.password_set") == 1


@pytest.mark.parametrize(
    ("name", "password"),
    [("ann", "wrong password!!"), ("nobody", PASSWORD), ("", PASSWORD), ("ann", "")],
)
def test_a_wrong_login_says_nothing_about_why(tracker: Tracker, name: str, password: str) -> None:
    tracker.users.passwd("ann", PASSWORD)
    with pytest.raises(AuthError) as caught:
        tracker.users.check_password(name, password)
    assert caught.value.message == "wrong user name or password"


def test_no_password_no_login_and_disabled_users_are_refused(tracker: Tracker) -> None:
    with pytest.raises(AuthError):
        tracker.users.check_password("ann", PASSWORD)
    tracker.users.passwd("ann", PASSWORD)
    tracker.users.disable("ann")
    with pytest.raises(AuthError):
        tracker.users.check_password("ann", PASSWORD)
    assert tracker.users.principal("ann") is None


def test_bad_passwords_and_unknown_users_record_nothing(tracker: Tracker) -> None:
    before = len(tracker.audit.log())
    with pytest.raises(InvalidInput, match="at least 12 characters"):
        tracker.users.passwd("ann", "short")
    with pytest.raises(NotFound, match="no user 'bob'"):
        tracker.users.passwd("bob", PASSWORD)
    assert len(tracker.audit.log()) == before


def test_the_hash_is_argon2id_and_a_forged_one_fails_verify(tracker: Tracker) -> None:
    tracker.users.passwd("ann", PASSWORD)
    db = tracker.project.dir / "pedigree.db"
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM users WHERE name = 'ann'").fetchone()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert tracker.audit.verify().ok
    from argon2 import PasswordHasher

    forged = PasswordHasher().hash("the attacker's own password")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE users SET password_hash = ? WHERE name = 'ann'", (forged,))
    report = tracker.audit.verify()
    assert not report.ok
    assert any("users" in str(p) for p in report.problems)


def test_users_passwd_from_the_cli_never_prints_the_hash(project: Project) -> None:
    assert project.pedigree("users", "add", "ben", "--role", "researcher").code == 0
    done = project.pedigree("users", "passwd", "ben", "--password-stdin", "--json")
    assert done.code != 0  # empty standard input: too short
    assert "at least 12 characters" in done.err
    proc = subprocess.run(
        [PYTHON, "-m", "pedigree.cli.main", "users", "passwd", "ben", "--password-stdin", "--json"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=project.root,
        env=project.env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["name"] == "ben"
    listed = project.pedigree("users", "ls", "--json")
    log = project.pedigree("audit", "log")
    for text in (proc.stdout, proc.stderr, listed.out, log.out):
        assert "$argon2" not in text
        assert PASSWORD not in text
    assert project.tracker().users.check_password("ben", PASSWORD).user == "ben"
