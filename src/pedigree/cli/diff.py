"""``pedigree diff RUN_A RUN_B``."""

from __future__ import annotations

import math
from typing import Any

import click

from pedigree.cli._common import console, emit_json, json_option, tracker


def _v(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _short(digest: str | None) -> str:
    return "-" if not digest else digest.partition(":")[2][:12] or digest


@click.command()
@click.argument("run_a")
@click.argument("run_b")
@click.option("--all", "show_all", is_flag=True, help="Also list what is the same.")
@json_option
def diff(run_a: str, run_b: str, show_all: bool, as_json: bool) -> None:
    """What differs between two runs: code, data, environment, params, seed and metrics.

    \b
    Examples:
      pedigree diff 0193a5c2 last
      pedigree diff 0193a5c2 0193a611 --json
    """
    from rich.markup import escape
    from rich.table import Table

    d = tracker().lineage.diff(run_a, run_b)
    if as_json:
        emit_json(d)
        return
    out = console()
    a, b = d["a"], d["b"]
    out.print(
        f"[bold]a[/] run {a['id']}  {escape(str(a['name'] or ''))} ({escape(a['experiment'])})"
    )
    out.print(
        f"[bold]b[/] run {b['id']}  {escape(str(b['name'] or ''))} ({escape(b['experiment'])})"
    )
    if d["same"]:
        out.print("same code, data, environment, params and seed")

    code = d["code"]
    out.print("[bold]code[/]" + ("  same" if code["same"] else ""))
    if not code["same"] or show_all:
        ca, cb = code["a"], code["b"]
        out.print(f"  commit   a {_v(ca['commit'])}\n           b {_v(cb['commit'])}")
        for status, path in code["commit_changes"] or []:
            out.print(f"    {status} {escape(path)}")
        if not code["same_patch"]:
            out.print(f"  patch    a {_short(ca['patch_digest'])}  b {_short(cb['patch_digest'])}")
            if code["patch_diff"]:
                for line in code["patch_diff"].splitlines():
                    style = (
                        "green" if line.startswith("+") else "red" if line.startswith("-") else ""
                    )
                    out.print(f"    [{style}]{escape(line)}[/]" if style else f"    {escape(line)}")
        for u in code["untracked"]:
            out.print(f"  untracked {escape(u['path'])}: a {_short(u['a'])}  b {_short(u['b'])}")
        for note in code["notes"]:
            out.print(f"  note: {escape(note)}")

    for section in ("inputs", "outputs"):
        items = [i for i in d["data"][section] if show_all or i["status"] != "same"]
        total = len(d["data"][section])
        out.print(
            f"[bold]{section}[/]" + ("  same" if not items and total else "" if total else "  none")
        )
        for i in items:
            label_a = ", ".join(i["a_datasets"]) or _short(i["a"])
            label_b = ", ".join(i["b_datasets"]) or _short(i["b"])
            out.print(f"  {i['status']:<8} {escape(i['path'])}  a {label_a}  b {label_b}")
            files = i.get("files")
            if files:
                for p, size in files["added"]:
                    out.print(f"    [green]+ {escape(p)}[/] ({size:,} B)")
                for p, size in files["removed"]:
                    out.print(f"    [red]- {escape(p)}[/] ({size:,} B)")
                for p, sa_, sb in files["changed"]:
                    out.print(f"    [yellow]~ {escape(p)}[/] ({sa_:,} -> {sb:,} B)")

    env = d["environment"]
    out.print("[bold]environment[/]" + ("  same" if env["same"] else ""))
    if not env["same"] or show_all:
        out.print(f"  digest   a {_short(env['a'])}  b {_short(env['b'])}")
        if env["python"][0] != env["python"][1]:
            out.print(f"  python   a {env['python'][0]}  b {env['python'][1]}")
        pk = env["packages"]
        for name, version in pk["added"]:
            out.print(f"  [green]+ {escape(name)} {escape(version)}[/]")
        for name, version in pk["removed"]:
            out.print(f"  [red]- {escape(name)} {escape(version)}[/]")
        for name, va, vb in pk["changed"]:
            out.print(f"  [yellow]~ {escape(name)} {escape(va)} -> {escape(vb)}[/]")

    seed = d["seed"]
    if not seed["same"] or show_all:
        out.print(f"[bold]seed[/]  a {_v(seed['a'])}  b {_v(seed['b'])}")
    if not d["command"]["same"]:
        out.print("[bold]command[/]")
        out.print(f"  a {escape(' '.join(d['command']['a'] or []))}")
        out.print(f"  b {escape(' '.join(d['command']['b'] or []))}")

    for title, rows in (("params", d["params"]), ("metrics", d["metrics"])):
        shown = [r for r in rows if show_all or not r["same"] or title == "metrics"]
        if not shown:
            if rows:
                out.print(f"[bold]{title}[/]  same")
            continue
        table = Table(title=None, box=None, header_style="bold", pad_edge=False)
        table.add_column(title)
        table.add_column("a", justify="right")
        table.add_column("b", justify="right")
        if title == "metrics":
            table.add_column("b - a", justify="right")
        for r in shown:
            cells = [escape(r["key"]), _v(r["a"]), _v(r["b"])]
            if title == "metrics":
                cells.append(_v(r["delta"]))
            row_style = None if r["same"] else "bold"
            table.add_row(*cells, style=row_style)
        out.print(table)
