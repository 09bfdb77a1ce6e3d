"""``pedigree run``."""

from __future__ import annotations

import sys
from typing import Any

import click


def parse_params(values: tuple[str, ...]) -> dict[str, Any]:
    from pedigree.client.params import parse_assignment
    from pedigree.errors import InvalidParam

    out: dict[str, Any] = {}
    for text in values:
        key, value = parse_assignment(text)
        if key in out:  # the last one winning silently would record a value nobody checked
            raise InvalidParam(f"--param {key} is given twice; give each parameter once")
        out[key] = value
    return out


# Everything from the first argument that is not one of Pedigree's options is the command, with
# its own options: `pedigree run python x.py -p x=1` passes -p to x.py. `--` still works.
@click.command(context_settings={"ignore_unknown_options": False, "allow_interspersed_args": False})
@click.option(
    "-e",
    "--experiment",
    help="Experiment to file the run under (default: the "
    "script's start_run(experiment=...), else 'default').",
)
@click.option("-n", "--name", help="A name for the run.")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter, typed (int, float, true/false, else string); repeatable, once per key. "
    "The script receives it through pedigree.params().",
)
@click.option("--seed", type=int, help="Seed, exported as PEDIGREE_SEED and PYTHONHASHSEED.")
@click.option(
    "-t",
    "--tag",
    "tags",
    multiple=True,
    metavar="KEY=VALUE",
    help="A tag for the run (text; `pedigree tag` changes it later); repeatable.",
)
@click.option(
    "-i",
    "--input",
    "inputs",
    multiple=True,
    metavar="PATH",
    help="A file or folder the command reads; repeatable.",
)
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    metavar="PATH",
    help="A file or folder the command writes; repeatable.",
)
@click.option(
    "--trace",
    type=click.Choice(["auto", "python", "os"]),
    default=None,
    help="How file access is traced: python (the audit hook in Python processes; fast), os "
    "(strace of every process: sees native code and other programs; slower), auto (os where "
    "strace works, else python). Default: [capture] trace, else python.",
)
@click.option(
    "--strict-capture",
    is_flag=True,
    default=None,
    help="Fail the run (exit code 65) when its file capture is not complete. "
    "Default: [capture] strict.",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="Do not print Pedigree's own start and end lines."
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(
    experiment: str | None,
    name: str | None,
    params: tuple[str, ...],
    seed: int | None,
    tags: tuple[str, ...],
    inputs: tuple[str, ...],
    outputs: tuple[str, ...],
    trace: str | None,
    strict_capture: bool | None,
    quiet: bool,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND and record it: code, environment, parameters, output and exit code.

    The script needs no change. Its output is shown live and stored; Pedigree exits with the
    command's exit code. Pedigree's options come first: everything from the first argument that
    is not one of them is the command, and the options after it are the command's (`--` before
    the command works too).

    \b
    Examples:
      pedigree run python backtest.py --window 50
      pedigree run -- python backtest.py
      pedigree run -e ma-crossover -p window=50 -p instrument=AAPL --seed 7 -- python backtest.py
      pedigree run -i data/prices.csv -o model.bin -- ./train.sh
      pedigree run --tag stage=candidate --tag desk=rates -- python backtest.py
      pedigree run --trace os --strict-capture sh -c 'awk 1 in.csv > out.csv'
    """
    from pedigree.api import LaunchSpec
    from pedigree.cli._common import tracker
    from pedigree.tracking.tags import parse_assignments

    spec = LaunchSpec(
        argv=list(command),
        experiment=experiment,
        name=name,
        params=parse_params(params),
        seed=seed,
        tags=parse_assignments(tags),
        inputs=list(inputs),
        outputs=list(outputs),
        trace=trace,
        strict_capture=strict_capture,
    )
    t = tracker()

    def started(run_id: str) -> None:
        if not quiet:
            click.echo(f"pedigree: recording run {run_id}", err=True)

    result = t.launch(spec, on_start=started)
    if not quiet:
        click.echo(
            f"pedigree: run {result.run_id} {result.status} in {result.duration:.2f}s "
            f"(exit code {result.exit_code})",
            err=True,
        )
        if result.files is not None and result.files.files != "complete":
            why = "; ".join(result.files.reasons)
            click.echo(f"pedigree: file capture {result.files.files}: {why}", err=True)
    sys.exit(result.exit_code)
