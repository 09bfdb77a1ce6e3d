"""A throwaway PostgreSQL server in a temporary folder, for tests and benchmarks.

Example (``tests/conftest.py`` starts one per test process this way)::

    with TemporaryPostgres() as pg:
        uri = pg.create_database("t1")      # postgresql://pedigree@/t1?host=...

The server listens on a unix socket only (no TCP port to collide with), runs with durability off
(fsync, synchronous_commit) because its data is thrown away, and is stopped and deleted on exit.
initdb and postgres refuse to run as root, so as root they run as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

__all__ = ["PostgresUnavailable", "TemporaryPostgres", "find_pg_bin"]


class PostgresUnavailable(RuntimeError):
    pass


def find_pg_bin() -> Path:
    """The folder of initdb/pg_ctl: $PG_BIN, the PATH, or Debian's /usr/lib/postgresql/N/bin."""
    if env := os.environ.get("PG_BIN"):
        return Path(env)
    if found := shutil.which("pg_ctl"):
        return Path(found).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found (install postgresql, or set PG_BIN)"
        )
    return Path(candidates[-1]).parent


class TemporaryPostgres:
    def __init__(self, *, user: str = "pedigree") -> None:
        self.user = user
        self.bin = find_pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="pedigree-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self._as: list[str] = []
        self._running = False

    def _run(self, *args: str) -> None:
        out = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, check=False, cwd=self.root
        )
        if out.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(args[0]).name} failed: {(out.stderr or out.stdout).strip()}"
            )

    def start(self) -> TemporaryPostgres:
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            for p in (self.root, self.socket_dir):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            self.root.chmod(0o755)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "start",
        )
        self._running = True
        return self

    def uri(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), user=self.user, dbname=database, autocommit=True
        ) as conn:
            conn.execute(sql.encode())

    def create_database(self, name: str, *, template: str | None = None) -> str:
        tpl = f" TEMPLATE {template}" if template else ""
        self.execute(f'CREATE DATABASE "{name}"{tpl}')
        return self.uri(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self._running:
            self._running = False
            with contextlib.suppress(PostgresUnavailable):
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
