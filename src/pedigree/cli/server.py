"""``pedigree server``: the team server."""

from __future__ import annotations

import click

from pedigree.errors import InvalidInput


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port."
)
@click.option(
    "--store",
    "store_uri",
    metavar="URI",
    help="Metadata store: sqlite:///path or postgresql://... (default: this project's).",
)
@click.option(
    "--objects",
    "objects_uri",
    metavar="URI",
    help="Object store: a folder or s3://bucket/prefix (default: this project's).",
)
@click.option(
    "--auth-failures-per-minute",
    "auth_limit",
    default=10,
    show_default=True,
    type=click.IntRange(1, None),
    help="Failed authentications one client address may make a minute before it is answered 429.",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="How much the server logs.",
)
def server(
    host: str,
    port: int,
    store_uri: str | None,
    objects_uri: str | None,
    auth_limit: int,
    log_level: str,
) -> None:
    """Serve this project's record to a team, over HTTP with tokens.

    Every request but /healthz needs a token (`pedigree tokens create --user NAME`); the
    token's user is the actor of every record it makes, and its role decides what it may do.
    The OpenAPI description is at /openapi.json. Listen on 127.0.0.1 and put TLS in front of it
    with a reverse proxy (docs/server.md). Needs `pip install 'pedigree[server]'`.

    \b
    Examples:
      pedigree server
      pedigree server --host 0.0.0.0 --port 8080
      pedigree server --store postgresql://pedigree@db/pedigree --objects s3://bucket/pedigree
    """
    try:
        import uvicorn

        from pedigree.server import create_app
    except ImportError as exc:
        raise InvalidInput(
            f"the team server needs its extra ({exc.name} is missing): "
            "pip install 'pedigree[server]'"
        ) from None
    import os
    from pathlib import Path

    from pedigree.config import Project, find_project
    from pedigree.credentials import is_remote
    from pedigree.errors import StoreNotFound

    if store_uri is None and is_remote(os.environ.get("PEDIGREE_URI")):
        raise InvalidInput(
            "PEDIGREE_URI names a team server, and a server serves a database: unset it or "
            "pass --store"
        )
    try:
        project = find_project()
    except StoreNotFound:
        if store_uri is None:
            raise
        project = Project(Path.cwd())  # a database named by --store needs no project folder
    app = create_app(
        project, store_uri=store_uri, objects_uri=objects_uri, failed_auth_limit=auth_limit
    )
    click.echo(f"pedigree server: http://{host}:{port} (OpenAPI at /openapi.json)", err=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        # Request lines name paths only: tokens travel in a header, which is never logged.
        access_log=log_level in ("info", "debug"),
        server_header=False,
    )
