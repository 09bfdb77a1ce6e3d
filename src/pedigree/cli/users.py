"""``pedigree users``: the team server's users and their roles (add, ls, set-role, disable)."""

from __future__ import annotations

from typing import Any

import click

from pedigree.cli._common import console, emit_json, json_option, tracker
from pedigree.store.events import ROLES

_ROLE = click.Choice(ROLES)


def _when(iso_text: str | None) -> str:
    return (iso_text or "")[:19].replace("T", " ")


def _line(u: dict[str, Any]) -> str:
    state = "disabled" if u["disabled"] else "active"
    return f"{u['name']}  {u['role']}  {state}  added {_when(u['created_at'])}"


@click.group()
def users() -> None:
    """Who may use the team server, and with what role.

    Roles: researcher (record runs, data, sweeps, models; read everything), reviewer
    (researcher + approve/reject), auditor (read everything, audit verify; writes nothing),
    admin (users and tokens; read, audit verify). Every change is an event in the audit chain.
    Run these on the server's machine to make the first admin; after that, through the server
    with an admin token (PEDIGREE_URI, PEDIGREE_TOKEN or pedigree login).

    \b
    Examples:
      pedigree users add maria --role admin
      pedigree users add ben --role researcher
      pedigree users set-role ben reviewer
      pedigree users ls --json
      pedigree users disable ben
      pedigree users passwd ben
    """


@users.command()
@click.argument("name")
@click.option("--role", type=_ROLE, required=True, help="What the user may do.")
@json_option
def add(name: str, role: str, as_json: bool) -> None:
    """Add user NAME with a role.

    \b
    Example:
      pedigree users add ben --role researcher
    """
    u = tracker().users.add(name, role=role)
    if as_json:
        emit_json(u)
        return
    console().print(
        f"added {u['name']} ({u['role']}); make them a token: pedigree tokens create --user "
        f"{u['name']}",
        markup=False,
    )


@users.command(name="ls")
@json_option
def ls(as_json: bool) -> None:
    """List users, their roles and whether they are disabled.

    \b
    Example:
      pedigree users ls
    """
    found = tracker().users.ls()
    if as_json:
        emit_json(found)
        return
    if not found:
        console().print("no users yet (pedigree users add NAME --role admin)")
        return
    for u in found:
        console().print(_line(u), markup=False)


@users.command(name="set-role")
@click.argument("name")
@click.argument("role", type=_ROLE)
@json_option
def set_role(name: str, role: str, as_json: bool) -> None:
    """Give user NAME the role ROLE.

    \b
    Example:
      pedigree users set-role ben reviewer
    """
    u = tracker().users.set_role(name, role)
    if as_json:
        emit_json(u)
        return
    console().print(f"{u['name']} is now {u['role']}", markup=False)


@users.command()
@click.argument("name")
@json_option
def disable(name: str, as_json: bool) -> None:
    """Disable user NAME: none of their tokens authenticates any more. Their records stay.

    \b
    Example:
      pedigree users disable ben
    """
    u = tracker().users.disable(name)
    if as_json:
        emit_json(u)
        return
    console().print(f"disabled {u['name']}: their tokens no longer authenticate", markup=False)


@users.command()
@click.argument("name")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (no prompt).",
)
@json_option
def passwd(name: str, password_stdin: bool, as_json: bool) -> None:
    """Set NAME's password for the web UI's login page (`pedigree server`).

    Asked twice, not shown; at least 12 characters. Stored as its argon2id hash in the audit
    chain (user.password_set), never printed. API tokens are unaffected.

    \b
    Examples:
      pedigree users passwd ben
      printf '%s\\n' "$PASSWORD" | pedigree users passwd ben --password-stdin
    """
    import sys

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            f"password for {name}", hide_input=True, confirmation_prompt=True, err=True
        )
    done = tracker().users.passwd(name, password)
    if as_json:
        emit_json(done)
        return
    console().print(f"password set for {name}", markup=False)
