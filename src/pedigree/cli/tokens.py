"""``pedigree tokens``: API tokens for the team server (create, ls, revoke)."""

from __future__ import annotations

from typing import Any

import click

from pedigree.cli._common import console, emit_json, json_option, tracker


def _when(iso_text: str | None) -> str:
    return (iso_text or "")[:19].replace("T", " ") or "-"


def _line(t: dict[str, Any]) -> str:
    expires = _when(t["expires_at"]) if t["expires_at"] else "never"
    return (
        f"{t['id']}  {t['user']}  {t['state']}  created {_when(t['created_at'])}  expires {expires}"
    )


@click.group()
def tokens() -> None:
    """API tokens: how a user proves who they are to the team server.

    A token is printed once, when it is made, and stored only as a hash; it cannot be shown
    again (make a new one and revoke the old). Give it to its user, who runs
    pedigree login URL (or sets PEDIGREE_TOKEN). Every creation and revocation is an event in the
    audit chain; tokens are listed and revoked by their id, never by their secret.

    \b
    Examples:
      pedigree tokens create --user ben --expires 90d
      pedigree tokens ls --user ben
      pedigree tokens revoke 3f9c2a7d5e1b4c60
    """


@tokens.command()
@click.option("--user", "user", required=True, help="Whose token it is.")
@click.option(
    "--expires",
    default="90d",
    show_default=True,
    metavar="DURATION",
    help="How long it is valid: 30m, 12h, 90d, 2w, 1y, or never.",
)
@click.option("-n", "--note", help="What the token is for (a machine, a CI job).")
@json_option
def create(user: str, expires: str, note: str | None, as_json: bool) -> None:
    """Make a token for --user and print it, once.

    \b
    Example:
      pedigree tokens create --user ben --expires 90d --note "ben's laptop"
    """
    t = tracker().tokens.create(user, expires=expires, note=note)
    if as_json:
        emit_json(t)
        return
    out = console()
    out.print(t["token"], markup=False, soft_wrap=True)
    expires_at = _when(t["expires_at"]) if t["expires_at"] else "never"
    click.echo(
        f"token {t['id']} for {t['user']}, expires {expires_at}. It is shown only now: "
        "store it where its user keeps secrets.",
        err=True,
    )


@tokens.command(name="ls")
@click.option("--user", "user", help="Only this user's tokens.")
@json_option
def ls(user: str | None, as_json: bool) -> None:
    """List tokens (id, user, state: active, expired or revoked); never their secrets.

    \b
    Example:
      pedigree tokens ls --user ben
    """
    found = tracker().tokens.ls(user)
    if as_json:
        emit_json(found)
        return
    if not found:
        console().print("no tokens (pedigree tokens create --user NAME)")
        return
    for t in found:
        console().print(_line(t), markup=False)


@tokens.command()
@click.argument("token_id", metavar="ID")
@json_option
def revoke(token_id: str, as_json: bool) -> None:
    """Revoke token ID (see pedigree tokens ls): it authenticates no one from now on.

    \b
    Example:
      pedigree tokens revoke 3f9c2a7d5e1b4c60
    """
    t = tracker().tokens.revoke(token_id)
    if as_json:
        emit_json(t)
        return
    console().print(f"revoked token {t['id']} of {t['user']}", markup=False)
