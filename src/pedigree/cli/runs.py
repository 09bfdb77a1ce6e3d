"""``pedigree runs``, ``pedigree show`` and ``pedigree logs``."""

from __future__ import annotations

import math
import sys
from typing import Any

import click

from pedigree.cli._common import console, emit_json, json_option, tracker


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.6g}"
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def fmt_time(iso: str | None) -> str:
    return "-" if not iso else iso[:19].replace("T", " ")


_STATUS_STYLE = {
    "finished": "green",
    "failed": "red",
    "crashed": "red",
    "killed": "yellow",
    "running": "cyan",
}


def _mentioned(text: str | None, namespace: str) -> list[str]:
    import re

    if not text:
        return []
    return re.findall(rf"{namespace}\.(\w[\w\-/:.]*)", text)


@click.command()
@click.option("-e", "--experiment", help="Only runs of this experiment.")
@click.option("-w", "--where", help='Filter, e.g. "metrics.sharpe > 1 and params.window >= 20".')
@click.option(
    "-s", "--order-by", help="Sort keys, comma-separated; - for descending, e.g. -metrics.sharpe."
)
@click.option(
    "-l",
    "--limit",
    type=int,
    default=None,
    help="At most this many runs (default: 50 in the table, all with --json).",
)
@json_option
def runs(
    experiment: str | None,
    where: str | None,
    order_by: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List runs, newest first, or filtered and sorted by params and metrics.

    Fields: metrics.NAME, params.NAME and id, experiment, name, kind, status, user, host,
    exit_code, seed, started_at, ended_at, duration, parent, commit, branch, dirty. Operators:
    = != < <= > >= like, in (...), is null, and, or, not, parentheses.

    \b
    Examples:
      pedigree runs -e ma-crossover --where "metrics.sharpe > 1 and params.window >= 20" \\
          --order-by -metrics.sharpe --limit 20
      pedigree runs --where "status = 'failed' and started_at > '2026-11-01'" --json
    """
    t = tracker()
    if limit is None and not as_json:
        limit = 50
    records = t.runs(experiment=experiment, where=where, order_by=order_by, limit=limit)
    if as_json:
        emit_json(records)
        return
    if not records:
        console(stderr=True).print("no runs match")
        return
    from pedigree.cli._table import Cell, Column, print_table

    short = t.abbreviations([r["id"] for r in records])
    metric_keys = _pick_keys(records, "metrics", where, order_by)
    param_keys = _pick_keys(records, "params", where, order_by)
    columns = [
        Column("run"),
        Column("experiment"),
        Column("name"),
        Column("status"),
        Column("started (UTC)"),
        Column("took", right=True),
        *(Column(k, right=True, style="blue") for k in param_keys),
        *(Column(k, right=True, style="magenta") for k in metric_keys),
    ]
    rows = [
        [
            short[r["id"]],
            r["experiment"],
            r["name"] or "",
            Cell(r["status"], _STATUS_STYLE.get(r["status"])),
            fmt_time(r["started_at"]),
            fmt_duration(r["duration"]),
            *(fmt_value(r["params"].get(k)) for k in param_keys),
            *(fmt_value(r["metrics"].get(k)) for k in metric_keys),
        ]
        for r in records
    ]
    # A plain table: rich's layout of 100 rows cost more than the rest of the command.
    print_table(columns, rows)


def _pick_keys(
    records: list[dict[str, Any]], namespace: str, where: str | None, order_by: str | None
) -> list[str]:
    present: set[str] = set()
    for r in records:
        present.update(r[namespace])
    first = [
        k for k in _mentioned(order_by, namespace) + _mentioned(where, namespace) if k in present
    ]
    keys = list(dict.fromkeys(first))
    for k in sorted(present):
        if len(keys) >= 5:
            break
        if k not in keys:
            keys.append(k)
    return keys


@click.command()
@click.argument("run")
@click.option(
    "--history", is_flag=True, help="With --json: every logged point of every metric too."
)
@json_option
def show(run: str, history: bool, as_json: bool) -> None:
    """Show everything recorded about RUN (a full id, a unique prefix, or `last`).

    \b
    Examples:
      pedigree show last
      pedigree show 0193a5c2 --json --history
    """
    t = tracker()
    rec = t.get_run(run)
    if as_json:
        if history:
            rec["metric_history"] = t.metric_history(rec["id"])
        emit_json(rec)
        return
    render_run(rec)


def render_run(rec: dict[str, Any]) -> None:
    from rich.markup import escape

    out = console()
    style = _STATUS_STYLE.get(rec["status"], "")
    title = f"[bold]run {rec['id']}[/]"
    if rec["name"]:
        title += f"  {escape(rec['name'])}"
    out.print(title)

    def line(label: str, value: Any) -> None:
        out.print(f"  [dim]{label:<13}[/]{escape(str(value))}")

    line("experiment", rec["experiment"])
    out.print(
        f"  [dim]{'status':<13}[/][{style}]{rec['status']}[/]"
        + (f"  (exit code {rec['exit_code']})" if rec["exit_code"] is not None else "")
    )
    if rec.get("error"):
        line("error", rec["error"])
    if rec.get("parent"):
        line("parent", rec["parent"])
    if rec.get("selection"):
        from pedigree.selection.context import sentence

        line("selected" if rec["selection"]["selected"] else "trial", sentence(rec["selection"]))
    if rec["command"]:
        import shlex

        line("command", shlex.join(rec["command"]))
    if isinstance(rec.get("imported_from"), str):
        line("imported", rec["imported_from"])
    line("cwd", rec["cwd"])
    line("started", fmt_time(rec["started_at"]) + " UTC")
    line("took", fmt_duration(rec["duration"]))
    identity = f"  ({rec['identity']})" if rec.get("identity") else ""
    line("user", f"{rec['user']}@{rec['host']}{identity}")
    if rec["seed"] is not None:
        line("seed", rec["seed"])
    if rec.get("tags"):
        line("tags", "  ".join(f"{k}={v}" for k, v in rec["tags"].items()))
    code = rec["code"]
    out.print("[bold]code[/]")
    if code.get("commit"):
        line("commit", code["commit"] + ("  (uncommitted changes)" if code.get("dirty") else ""))
        line("branch", code.get("branch") or "(detached)")
        if code.get("remote"):
            line("remote", code["remote"])
        if code.get("patch_digest"):
            line("patch", code["patch_digest"])
        untracked = code.get("untracked") or []
        if untracked:
            line("untracked", f"{len(untracked)} file(s) recorded")
    for note in code.get("notes") or []:
        line("note", note)
    env = rec["environment"]
    out.print("[bold]environment[/]")
    if env.get("digest"):
        line("python", f"{env.get('python')} ({env.get('executable') or ''})")
        line("platform", env.get("platform"))
        packages = env.get("packages") or []
        line("packages", f"{len(packages)}  {env.get('packages_digest')}")
        line("digest", env["digest"])
    else:
        line("python", "not captured (the command was not a Python program)")
    if rec["params"]:
        out.print("[bold]params[/]")
        for k, v in rec["params"].items():
            line(k, fmt_value(v))
    if rec["metrics"]:
        out.print("[bold]metrics[/]")
        for k, v in rec["metrics"].items():
            line(k, fmt_value(v))
    for section in ("inputs", "outputs"):
        items = rec.get(section) or []
        if items:
            out.print(f"[bold]{section}[/]")
            for item in items:
                flag = "  modified during the run" if item.get("modified") else ""
                if item.get("approvals"):  # the latest review of this artifact version
                    flag += (
                        f"  {item['approvals'][-1]['decision']} by {item['approvals'][-1]['actor']}"
                    )
                line(
                    item["kind"],
                    f"{item['path']}  {item['digest'][:19]}…  {item['size']:,} B{flag}",
                )
    files = (rec.get("capture") or {}).get("files")
    if files:  # how complete the file capture is (pedigree.capture.files)
        out.print("[bold]file capture[/]")
        line(files, f"traced: {rec['capture'].get('trace')}")
        for reason in rec["capture"].get("reasons") or []:
            line("", reason)
    if rec.get("reproduction_of"):
        of = rec["reproduction_of"]
        out.print("[bold]reproduction[/]")
        line("of", f"{of['original']}  verdict: {of['verdict']}")
    if rec.get("reproductions"):
        out.print("[bold]reproductions[/]")
        for rep in rec["reproductions"]:
            line(rep["verdict"], f"{rep['id']}  {fmt_time(rep['at'])} UTC")
    if rec.get("approvals"):
        out.print("[bold]approvals[/]")
        for rev in rec["approvals"]:
            note = f"  {rev['note']}" if rev.get("note") else ""
            who = f"{rev['actor']} ({rev['identity']})" if rev.get("identity") else rev["actor"]
            line(rev["decision"], f"by {who}  {fmt_time(rev['at'])} UTC{note}")
    status = rec.get("approval")
    if status and (status["approvals"] or status["rejected_by"] or status["required"] > 1):
        verdict = "approved" if status["approved"] else "not approved"
        line("approval", f"{verdict}: {status['approvals']} of {status['required']} required")


@click.command()
@click.argument("run")
@click.option("--stdout", "which", flag_value="stdout", help="Only the standard output.")
@click.option("--stderr", "which", flag_value="stderr", help="Only the standard error.")
def logs(run: str, which: str | None) -> None:
    """Print the stored output of RUN: its stdout to stdout and its stderr to stderr.

    \b
    Examples:
      pedigree logs last
      pedigree logs 0193a5c2 --stderr
    """
    t = tracker()
    rec = t.get_run(run)
    if which in (None, "stdout"):
        sys.stdout.buffer.write(t.read_blob(rec["stdout_digest"]))
        sys.stdout.flush()
    if which in (None, "stderr"):
        sys.stderr.buffer.write(t.read_blob(rec["stderr_digest"]))
        sys.stderr.flush()
