"""``pedigree sweep`` (run a sweep), ``pedigree sweep show`` (its table, again) and
``pedigree sweep assess`` (the winner's DSR and PBO)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from pedigree.cli._common import console, emit_json, json_option, tracker

if TYPE_CHECKING:
    from pedigree.api import Tracker
    from pedigree.sweep.executors import TrialDone
    from pedigree.sweep.grid import SweepSpec, Trial
    from pedigree.sweep.results import SweepReport


def _split_names(values: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for v in values:
        out.extend(n.strip() for n in v.split(",") if n.strip())
    return out


# -- rendering ---------------------------------------------------------------------------------


def fmt_metric(value: Any) -> str:
    """Metrics in a column line up: 4 decimals, whole numbers as such, tiny or huge as 4 digits."""
    import math

    if value is None:
        return "-"
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v.is_integer() and abs(v) < 1e12:
        return str(int(v))
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        return f"{v:.4g}"
    return f"{v:.4f}"


def describe(spec: SweepSpec) -> str:
    """``24 trials, grid over instrument (4) x window (6); fee_bps=2 fixed``."""
    from pedigree.sweep.grid import GRID, format_value

    varied = spec.varied
    joiner = " x " if spec.mode == GRID else ", "
    over = joiner.join(f"{k} ({len(spec.params[k])})" for k in varied) or "one point"
    text = f"{spec.count()} trial{'s' if spec.count() != 1 else ''}, {spec.mode} over {over}"
    if spec.fixed:
        text += "; " + " ".join(f"{k}={format_value(v)}" for k, v in spec.fixed.items())
        text += " fixed"
    return text


def render_report(t: Tracker, report: SweepReport, columns: list[str]) -> None:
    """The table of trials, best first, and a few lines of summary."""
    from rich.table import Table
    from rich.text import Text

    from pedigree.cli.runs import fmt_duration
    from pedigree.sweep.grid import format_value

    spec = report.spec
    metric = spec.metric
    out = console()
    sweep = report.sweep
    short = t.abbreviations([report.id, *(r.id for r in report.trials)])
    goal = "highest first" if spec.goal == "max" else "lowest first"
    by = f"; by {metric}, {goal}" if metric else ""
    out.print(
        f"sweep {short[report.id]} ({sweep['experiment']}, {sweep['status']}): "
        f"{describe(spec)}{by}",
        highlight=False,
    )
    out.print(f"  command: {' '.join(spec.command)}", highlight=False)
    shown_params = spec.varied or list(spec.params)
    extra = [c for c in columns if c != metric]
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("run")
    table.add_column("status")
    for k in shown_params:
        table.add_column(k, justify="right", style="blue")
    if metric:
        table.add_column(metric, justify="right", style="bold magenta")
    for k in extra:
        table.add_column(k, justify="right", style="magenta")
    table.add_column("took", justify="right")
    styles = {"finished": "green", "failed": "red", "crashed": "red", "killed": "yellow"}
    for row in report.trials:
        table.add_row(
            str(row.rank) if row.rank is not None else "-",
            short[row.id],
            Text(row.status, style=styles.get(row.status, "cyan")),
            *(format_value(row.params.get(k)) if k in row.params else "-" for k in shown_params),
            *([fmt_metric(row.metrics.get(metric))] if metric else []),
            *(fmt_metric(row.metrics.get(k)) for k in extra),
            fmt_duration(row.duration),
        )
    if report.trials:
        out.print(table)
    else:
        out.print("  no trial was recorded")
    best = report.best
    if best is not None and metric is not None:
        shown = " ".join(f"{k}={format_value(best.params.get(k))}" for k in shown_params)
        also = "".join(f", {k} {fmt_metric(best.metrics.get(k))}" for k in extra)
        out.print(
            f"best: {short[best.id]} ({shown}): {metric} {fmt_metric(best.value(metric))}{also}",
            highlight=False,
        )
        selected = report.selection_line()
        if selected is not None:
            out.print(f"  {selected}", highlight=False)
    failed = report.failed
    if failed:
        ids = " ".join(short[r.id] for r in failed[:3]) + (" ..." if len(failed) > 3 else "")
        out.print(
            f"{len(failed)} trial{'s' if len(failed) != 1 else ''} did not finish: "
            f"pedigree logs {short[failed[0].id]}  ({ids})",
            highlight=False,
        )
    if report.not_run:
        n = report.not_run
        out.print(f"{n} trial{'s were' if n != 1 else ' was'} not run", highlight=False)


class _Progress:
    """One line per trial on stderr as trials end (the trials' own output is stored, not shown:
    with several at once it would interleave)."""

    def __init__(self, t: Tracker, metric: str | None, quiet: bool) -> None:
        self.tracker, self.metric, self.quiet = t, metric, quiet
        self.total = 0

    def started(self, sweep_id: str, spec: SweepSpec, trials: list[Trial]) -> None:
        self.total = len(trials)
        if self.quiet:
            return
        where = "at once" if spec.jobs > 1 else "at a time"
        click.echo(
            f"pedigree: sweep {sweep_id}: {describe(spec)}; {spec.jobs} {where} on {spec.executor}",
            err=True,
        )

    def trial(self, trial: Trial, done: TrialDone, n: int) -> None:
        if self.quiet:
            return
        counter = f"[{n}/{self.total}]"
        r = done.result
        if r is None:
            click.echo(f"pedigree: {counter} {trial.name}: could not run: {done.error}", err=True)
            return
        line = f"pedigree: {counter} {trial.name}: {r.status} in {r.duration:.2f}s"
        if r.status == "finished" and self.metric:
            rec = self.tracker.runs(where=f"id = '{r.run_id}'", limit=1)
            value = rec[0]["metrics"].get(self.metric) if rec else None
            line += f", {self.metric} {fmt_metric(value)}"
        elif r.status != "finished":
            line += f" (exit code {r.exit_code}{self._last_error_line(r.run_id)})"
        short = self.tracker.abbreviations([r.run_id])[r.run_id]
        click.echo(f"{line}  [run {short}]", err=True)

    def _last_error_line(self, run_id: str) -> str:
        try:
            rec = self.tracker.get_run(run_id)
            text = self.tracker.read_blob(rec.get("stderr_digest")).decode("utf-8", "replace")
        except Exception:  # only a hint on a progress line; never worth failing for
            return ""
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        return f": {lines[-1][:160]}" if lines else ""


# -- the command -------------------------------------------------------------------------------


@click.command("show")
@click.argument("sweep", default="last")
@click.option(
    "-c",
    "--column",
    "columns",
    multiple=True,
    metavar="METRIC",
    help="Another metric to show as a column; repeatable or comma-separated "
    "(default: those given to the sweep).",
)
@json_option
def show(sweep: str, columns: tuple[str, ...], as_json: bool) -> None:
    """Print a sweep's table of trials again, best first by its metric.

    SWEEP is a sweep's run id, a unique prefix of it, or `last` (the latest sweep; the default).

    \b
    Examples:
      pedigree sweep show last
      pedigree sweep show 0199a3f2 -c test_sharpe,max_drawdown --json
    """
    t = tracker()
    report = t.sweeps.show(sweep)
    if as_json:
        emit_json(report.to_json())
        return
    render_report(t, report, _split_names(columns) or report.spec.columns)


def render_assessment(t: Tracker, a: dict[str, Any]) -> None:
    """The assessment of a sweep's winner: a short table of the measures and their readings."""
    from rich.table import Table

    out = console()
    short = t.abbreviations([a["sweep"], a["selected"]])
    scope = ""
    if a["other_runs"]:
        scope = f", and {a['other_runs']} other runs of the experiment on the same data"
    out.print(
        f"sweep {short[a['sweep']]}: trial {short[a['selected']]}, best of "
        f"{a['sweep_trials']} trials by {a['metric']} ({a['direction']}){scope}; "
        f"{a['observations']} observations of {a['returns_metric']!r}, "
        f"{fmt_metric(a['periods_per_year'])} per year",
        highlight=False,
    )
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("measure")
    table.add_column("value", justify="right", style="bold")
    table.add_column("note", style="dim")
    failed = f"{a['failed_trials']} did not finish" if a["failed_trials"] else ""
    rows = [
        ("trials (N)", str(a["trials"]), failed),
        (
            "effective trials",
            f"{a['effective_trials']:.2f}",
            a["effective_trials_estimator"].replace("_", " "),
        ),
        ("Sharpe ratio", fmt_metric(a["sharpe"]), "per period"),
        ("Sharpe ratio, annualized", fmt_metric(a["sharpe_annualized"]), ""),
        ("skewness", fmt_metric(a["skew"]), ""),
        ("kurtosis", fmt_metric(a["kurtosis"]), "3 for a Normal"),
        ("PSR (against 0)", f"{a['psr']:.4f}", ""),
        ("SR0", fmt_metric(a["sr0"]), "expected best Sharpe of N unskilled trials, per period"),
        ("DSR", f"{a['dsr']:.4f}", "PSR against SR0"),
        ("PBO", f"{a['pbo']:.4f}", f"CSCV, {a['partitions']} partitions"),
        ("probability of loss OOS", f"{a['prob_oos_loss']:.4f}", ""),
    ]
    for row in rows:
        table.add_row(*row)
    out.print(table)
    out.print(f"DSR: {a['reading']}", highlight=False)
    out.print(f"PBO: {a['pbo_reading']}", highlight=False)


@click.command("assess")
@click.argument("sweep", default="last")
@click.option(
    "-m", "--metric", help="Pick the best trial by this metric (default: the sweep's own)."
)
@click.option(
    "--returns-metric",
    default="returns",
    show_default=True,
    help="The metric history holding each trial's per-period returns.",
)
@click.option(
    "--periods-per-year",
    type=float,
    default=None,
    help="Periods per year, to annualize (default: what run.log_returns recorded, else 252).",
)
@click.option(
    "--partitions",
    type=int,
    default=16,
    show_default=True,
    help="Partitions S of the CSCV behind the PBO (even; needs 2 x S observations).",
)
@click.option(
    "--across",
    type=click.Choice(["experiment"]),
    default=None,
    help="Also count in N every other run of the experiment on the same input data versions.",
)
@json_option
def assess(
    sweep: str,
    metric: str | None,
    returns_metric: str,
    periods_per_year: float | None,
    partitions: int,
    across: str | None,
    as_json: bool,
) -> None:
    """Assess a sweep's best trial as the pick of many: Deflated Sharpe Ratio and PBO.

    SWEEP is a sweep's run id, a unique prefix of it, or `last` (the default). Each finished
    trial must have logged its per-period returns (run.log_returns(series) in the script); N
    counts every trial, failed ones too. Prints N, the effective number of independent trials,
    the winner's Sharpe ratio (per period, annualized), skewness, kurtosis, PSR, SR0, DSR, the
    PBO and the probability of loss out of sample (docs/selection.md). Exit code 2 when returns
    are missing or too short, 3 for an unknown sweep.

    \b
    Examples:
      pedigree sweep assess last
      pedigree sweep assess 0199a3f2 --metric sharpe --across experiment --json
    """
    t = tracker()
    result = t.sweeps.assess(
        sweep,
        metric=metric,
        returns_metric=returns_metric,
        periods_per_year=periods_per_year,
        partitions=partitions,
        across=across,
    )
    if as_json:
        emit_json(result)
        return
    render_assessment(t, result)


class _SweepCommand(click.Command):
    """Runs a sweep; ``pedigree sweep show|assess ...`` is handed to that subcommand.

    A click Group cannot both take the trial command as arguments and have subcommands, so the
    first word decides: ``show`` or ``assess`` is a subcommand, anything else a sweep to run.
    """

    subcommands: dict[str, click.Command] = {"show": show, "assess": assess}

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] in self.subcommands:
            ctx.meta["pedigree.sweep.sub"] = (args[0], args[1:])
            return []
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        sub = ctx.meta.pop("pedigree.sweep.sub", None)
        if sub is None:
            return super().invoke(ctx)
        name, rest = sub
        command = self.subcommands[name]
        # Parented to our parent, so that help shows `pedigree sweep show`, not our arguments.
        info = f"{ctx.info_name} {name}"
        with command.make_context(info, rest, parent=ctx.parent) as sub_ctx:
            return command.invoke(sub_ctx)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        with formatter.section("Commands"):
            # One list per command, so that `show` reads as it always has (scripts match it).
            for name, cmd in self.subcommands.items():
                formatter.write_dl([(name, cmd.get_short_help_str(80))])


@click.command("sweep", cls=_SweepCommand)
@click.option("-e", "--experiment", help="Experiment of the sweep and its trials.")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=V1,V2,...",
    help="A parameter and its values, typed like run --param; repeatable. One value holds it "
    "fixed. Quote a value that holds a comma: name='\"a,b\"',c.",
)
@click.option(
    "--one-at-a-time",
    is_flag=True,
    help="Vary one parameter at a time from a base (the first value of each list), the others "
    "held at their base, instead of every combination (the grid, default).",
)
@click.option("-m", "--metric", help="The target metric: the table is sorted by it, best first.")
@click.option(
    "--maximize/--minimize", "maximize", default=True, help="Is a higher metric better (default)?"
)
@click.option(
    "-c",
    "--column",
    "columns",
    multiple=True,
    metavar="METRIC",
    help="Another metric to show in the table; repeatable or comma-separated.",
)
@click.option(
    "-j",
    "--jobs",
    type=int,
    default=None,
    help="Trials at once (default: 1 locally, the cluster's CPUs on Ray).",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Where trials run: child processes here, or Ray tasks (pip install 'pedigree[ray]').",
)
@click.option(
    "--ray-address",
    metavar="HOST:PORT",
    help="A running Ray cluster (default: RAY_ADDRESS when set, else a local Ray instance "
    "started for the sweep).",
)
@click.option("--seed", type=int, help="Seed for every trial (PEDIGREE_SEED, PYTHONHASHSEED).")
@click.option("-q", "--quiet", is_flag=True, help="No line per trial; only the table.")
@json_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def sweep(
    experiment: str | None,
    params: tuple[str, ...],
    one_at_a_time: bool,
    metric: str | None,
    maximize: bool,
    columns: tuple[str, ...],
    jobs: int | None,
    executor: str,
    ray_address: str | None,
    seed: int | None,
    quiet: bool,
    as_json: bool,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND once per combination of parameter values, each trial a recorded run.

    Each trial's values reach the script through pedigree.params(), and {name} in the command
    is replaced by the value. All trials are children of one sweep run; a failed trial does
    not stop the others. At the end, a table of trials, best first by --metric. Exit code: 0
    when every trial finished, 1 when some failed, 2 for bad input (an unknown parameter, a
    metric no trial reported), 6 when the Ray cluster does not answer, 130 when interrupted.

    \b
    Examples:
      pedigree sweep -e ma-crossover -p window=20,50,100,200 -p instrument=AAPL,MSFT \\
          -p fee_bps=2 -j 2 --metric sharpe -c test_sharpe -- python backtest.py
      pedigree sweep --one-at-a-time -p window=50,20,100 -p fee_bps=2,5 --metric sharpe \\
          -- python backtest.py
      pedigree sweep --executor ray -p lr=0.1,0.01 --metric loss --minimize -- python train.py
    """
    from pedigree.errors import InvalidInput
    from pedigree.sweep.executors import make_executor
    from pedigree.sweep.grid import GRID, ONE_AT_A_TIME, SweepSpec, parse_param_list

    grid: dict[str, list[Any]] = {}
    for text in params:
        key, values = parse_param_list(text)
        if key in grid:
            raise InvalidInput(f"--param {key} is given twice; list its values once: {key}=a,b")
        grid[key] = values
    spec = SweepSpec(
        params=grid,
        command=list(command),
        mode=ONE_AT_A_TIME if one_at_a_time else GRID,
        metric=metric,
        goal="max" if maximize else "min",
        columns=_split_names(columns),
        experiment=experiment,
        seed=seed,
    )
    # Built (and its flags checked) before the project is looked for, like every usage error.
    ex = make_executor(executor, jobs, ray_address=ray_address)
    t = tracker()
    progress = _Progress(t, metric, quiet or as_json)
    outcome = t.sweeps.run(
        spec,
        executor=ex,
        command=["pedigree", "sweep", *sys.argv[2:]] if sys.argv[1:2] == ["sweep"] else None,
        on_start=progress.started,
        on_trial=progress.trial,
    )
    if as_json:
        emit_json(outcome.report.to_json())
    else:
        render_report(t, outcome.report, spec.columns)
    if outcome.error is not None:
        raise outcome.error
    if outcome.interrupted:
        click.echo("pedigree: sweep interrupted; the trials that ran are kept", err=True)
    sys.exit(outcome.exit_code)
