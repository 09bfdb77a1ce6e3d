"""Which team server this user talks to, with which token.

``pedigree login URL`` keeps the server's URL and the user's token in
``$XDG_CONFIG_HOME/pedigree/credentials.toml`` (``~/.config`` by default), readable by the user
alone (mode 0600), so that the token is typed once and never sits in a shell history or in a
project's files. ``PEDIGREE_URI=http(s)://...`` with ``PEDIGREE_TOKEN`` says the same for one
shell, and wins; a ``PEDIGREE_URI`` naming the logged-in server takes the stored token.

The file::

    [server]
    url = "http://pedigree.internal:8080"
    token = "pdg_..."
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from pathlib import Path

from pedigree.errors import InvalidInput

__all__ = [
    "credentials_path",
    "forget",
    "is_remote",
    "logged_in_url",
    "remember",
    "token_for",
]


def is_remote(uri: str | None) -> bool:
    """Whether a store URI names a team server (``http://`` or ``https://``)."""
    return bool(uri) and str(uri).lower().startswith(("http://", "https://"))


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pedigree" / "credentials.toml"


def _read() -> dict[str, str]:
    path = credentials_path()
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise InvalidInput(f"{path} is not a readable credentials file: {exc}") from None
    server = data.get("server")
    if not isinstance(server, dict):
        return {}
    return {k: v for k, v in server.items() if isinstance(v, str)}


def _same_server(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def logged_in_url() -> str | None:
    """The server of ``pedigree login``, if any."""
    url = _read().get("url")
    return url if url and is_remote(url) else None


def token_for(url: str) -> str | None:
    """The token to present to ``url``: ``PEDIGREE_TOKEN``, else the one ``pedigree login``
    stored for that server."""
    token = os.environ.get("PEDIGREE_TOKEN", "").strip()
    if token:
        return token
    stored = _read()
    if stored.get("url") and _same_server(stored["url"], url):
        return stored.get("token") or None
    return None


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    if any(ord(c) < 0x20 for c in escaped):
        raise InvalidInput("a URL or token cannot hold control characters")
    return f'"{escaped}"'


def remember(url: str, token: str) -> Path:
    """Store the server and token, readable by this user only; returns the file's path."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = f"[server]\nurl = {_toml_string(url.rstrip('/'))}\ntoken = {_toml_string(token)}\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Created 0600 from the start: the token is never readable by others, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def forget() -> bool:
    """Remove the stored credentials; whether there were any."""
    try:
        credentials_path().unlink()
    except FileNotFoundError:
        return False
    return True
