"""``pedigree login`` and ``pedigree logout``: which team server this user's commands use."""

from __future__ import annotations

import sys

import click

from pedigree.cli._common import emit_json, json_option


@click.command()
@click.argument("url")
@click.option(
    "--token-stdin",
    is_flag=True,
    help="Read the token from standard input (also the case whenever stdin is not a terminal).",
)
@json_option
def login(url: str, token_stdin: bool, as_json: bool) -> None:
    """Use the team server at URL from now on, with your token.

    Asks for the token (`pedigree tokens create --user NAME` printed it once), checks it with the
    server, and keeps URL and token in ~/.config/pedigree/credentials.toml (or under
    $XDG_CONFIG_HOME), readable by you alone. From then on every command records to and reads
    from that server, as the token's user, unless PEDIGREE_URI or a project's [store] uri names
    another store. PEDIGREE_URI + PEDIGREE_TOKEN do the same for one shell.

    \b
    Examples:
      pedigree login http://pedigree.internal:8080
      echo "$TOKEN" | pedigree login https://pedigree.example.com
    """
    from pedigree.credentials import is_remote, remember
    from pedigree.errors import InvalidInput
    from pedigree.store.http import HTTPClient

    if not is_remote(url):
        raise InvalidInput(f"a team server URL starts with http:// or https://, not {url!r}")
    if token_stdin or not sys.stdin.isatty():
        token = sys.stdin.readline().strip()
    else:
        token = click.prompt("Token", hide_input=True).strip()
    if not token:
        raise InvalidInput("no token given")
    client = HTTPClient(url, token, attempts=2)
    try:
        who = client.call("GET", "/api/v1/whoami")
    finally:
        client.close()
    path = remember(url, token)
    if as_json:
        emit_json({"url": client.base, "user": who["user"], "role": who["role"]})
        return
    click.echo(
        f"Logged in to {client.base} as {who['user']} ({who['role']}); credentials in {path}"
    )


@click.command()
def logout() -> None:
    """Forget the team server and token that `pedigree login` stored.

    Commands use the local store again (or PEDIGREE_URI). The token stays valid on the server
    until an admin revokes it (`pedigree tokens revoke ID`).

    \b
    Example:
      pedigree logout
    """
    from pedigree.credentials import forget, logged_in_url

    url = logged_in_url()
    if forget():
        click.echo(f"Logged out{f' of {url}' if url else ''}")
    else:
        click.echo("Not logged in")
