"""``pedigree ui``: the web UI over this project's store, for one user on this machine."""

from __future__ import annotations

import click

from pedigree.errors import InvalidInput


@click.command()
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port."
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser window.")
def ui(port: int, no_browser: bool) -> None:
    """Browse this project's runs, lineage, data and approvals in a web browser.

    Serves the UI on 127.0.0.1 only, with no login: it is the project's own user who approves
    and verifies, as with the CLI. Every page has a stable URL, and its data as JSON under
    /api/v1/ui. A team shares one record through `pedigree server` instead, which serves the
    same UI behind a login. Needs `pip install 'pedigree[server]'` (and `make web` in a
    checkout, for the charts and the graph).

    \b
    Examples:
      pedigree ui
      pedigree ui --port 8123 --no-browser
    """
    try:
        import uvicorn

        from pedigree.web import create_ui
    except ImportError as exc:
        raise InvalidInput(
            f"the web UI needs its extra ({exc.name} is missing): pip install 'pedigree[server]'"
        ) from None
    import socket
    import threading
    import webbrowser

    from pedigree.api import Tracker
    from pedigree.config import find_project
    from pedigree.context import Actor, shared_store

    project = find_project()
    store = shared_store(project.uri)
    first = Tracker(project, store=store)
    objects = first.objects

    def tracker(actor: Actor | None = None) -> Tracker:
        return Tracker(project, store=store, objects=objects, actor=actor)

    app = create_ui(tracker)
    # Bind first, so a taken port is a one-line error and the printed URL is the real one.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise InvalidInput(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    sock.listen(128)  # connections queue from now on: the URL printed next already answers
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    click.echo(f"pedigree ui: {url} (Ctrl-C to stop)", err=True)
    if not no_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])
