"""The ``pedigree`` command. Subcommands are imported only when used, so ``--version`` is fast."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from pedigree._version import __version__

# name -> "module:attribute"; a test checks that every command documents an example.
COMMANDS = {
    "init": "pedigree.cli.init:init",
    "run": "pedigree.cli.run:run",
    "runs": "pedigree.cli.runs:runs",
    "show": "pedigree.cli.runs:show",
    "logs": "pedigree.cli.runs:logs",
    "metrics": "pedigree.cli.metrics:metrics",
    "lineage": "pedigree.cli.lineage:lineage",
    "impact": "pedigree.cli.lineage:impact",
    "diff": "pedigree.cli.diff:diff",
    "reproduce": "pedigree.cli.reproduce:reproduce",
    "export": "pedigree.cli.export:export",
    "data": "pedigree.cli.data:data",
    "get": "pedigree.cli.get:get",
    "model": "pedigree.cli.model:model",
    "sweep": "pedigree.cli.sweep:sweep",
    "plot": "pedigree.cli.plot:plot",
    "audit": "pedigree.cli.audit:audit",
    "bundle": "pedigree.cli.bundle:bundle",
    "approve": "pedigree.cli.review:approve",
    "reject": "pedigree.cli.review:reject",
    "tag": "pedigree.cli.tags:tag",
    "untag": "pedigree.cli.tags:untag",
    "report": "pedigree.cli.report:report",
    "doctor": "pedigree.cli.doctor:doctor",
    "users": "pedigree.cli.users:users",
    "tokens": "pedigree.cli.tokens:tokens",
    "import": "pedigree.cli.imports:import_",
    "server": "pedigree.cli.server:server",
    "login": "pedigree.cli.login:login",
    "logout": "pedigree.cli.login:logout",
    "sync": "pedigree.cli.sync:sync",
    "ui": "pedigree.cli.ui:ui",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="pedigree")
def cli() -> None:
    """Pedigree: lineage-first experiment tracking.

    Records which exact code, data, environment and parameters produced every result.

    \b
    Examples:
      pedigree init
      pedigree run --param window=50 -- python backtest.py
      pedigree runs --where "metrics.sharpe > 1" --order-by -metrics.sharpe
      pedigree show last
    """


def main(argv: list[str] | None = None) -> Any:
    from pedigree.errors import PedigreeError

    try:
        return cli.main(args=argv, prog_name="pedigree", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        # One line, like every other error (click prints its usage and a "Try" line first).
        where = exc.ctx.command_path if exc.ctx is not None else "pedigree"
        click.echo(f"error: {exc.format_message().rstrip('.')} (see '{where} --help')", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except PedigreeError as exc:
        click.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # `pedigree runs | head`: the reader left; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:
        if os.environ.get("PEDIGREE_DEBUG"):
            raise
        click.echo(
            f"error: internal error: {type(exc).__name__}: {exc} "
            "(set PEDIGREE_DEBUG=1 for a traceback, and please report it)",
            err=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
