"""``pedigree model``: the model registry (register, ls, show, alias, history)."""

from __future__ import annotations

from typing import Any

import click

from pedigree.cli._common import console, emit_json, json_option, tracker


def _when(iso_text: str | None) -> str:
    return (iso_text or "")[:19].replace("T", " ")


def _size(n: int) -> str:
    from pedigree.api.data import DataAPI

    return DataAPI.human_size(n)


@click.group()
def model() -> None:
    """Name and version the models runs produce; point aliases such as production at them.

    A version is NAME/N (N counts up per name) and names stored content by digest. A protected
    alias (production by default; [models] protected_aliases in .pedigree/config.toml) may only
    point at a version approved (pedigree approve model:NAME/N) by someone who is neither its
    registrant nor the author of its run. Every register, review and alias move is in the
    audit log.

    \b
    Examples:
      pedigree model register tsmom --from last:models/tsmom.pkl --note "w=50 winner"
      pedigree model alias tsmom production 1
      pedigree get tsmom@production -o /srv/models/tsmom.pkl
    """


@model.command()
@click.argument("name")
@click.option(
    "--from",
    "source",
    required=True,
    metavar="RUN:PATH|DIGEST",
    help="An output of a run (RUN:PATH) or a recorded digest.",
)
@click.option("-n", "--note", help="What this version is.")
@json_option
def register(name: str, source: str, note: str | None, as_json: bool) -> None:
    """Record the content --from names as the next version of model NAME.

    \b
    Example:
      pedigree model register tsmom --from last:models/tsmom.pkl
    """
    from pedigree.models.registry import _version_json

    v = tracker().models.register(name, source, note=note)
    if as_json:
        emit_json(_version_json(v) | {"selection": v.selection})
        return
    run = f" from run {v.run_id} ({v.path})" if v.run_id else ""
    console().print(f"{v.ref}  {v.digest}  ({_size(v.size)}){run}", markup=False)


@model.command(name="ls")
@json_option
def ls(as_json: bool) -> None:
    """List models: the latest version of each and its aliases.

    \b
    Example:
      pedigree model ls
    """
    models = tracker().models.ls()
    if as_json:
        emit_json(models)
        return
    if not models:
        console().print("no models yet (pedigree model register NAME --from RUN:PATH)")
        return
    for m in models:
        aliases = ", ".join(f"{a}->{n}" for a, n in m["aliases"].items()) or "-"
        console().print(
            f"{m['name']}  v{m['version']}  {m['digest'][:19]}  {_size(m['size'])}  "
            f"aliases: {aliases}",
            markup=False,
        )


@model.command()
@click.argument("ref")
@json_option
def show(ref: str, as_json: bool) -> None:
    """Show a model version: NAME (its latest), NAME/N or NAME@ALIAS.

    The version, digest and size, the run that produced it, who registered it and when, its
    aliases and reviews, and its upstream lineage: code commit, dataset versions, parameters.

    \b
    Example:
      pedigree model show tsmom@production
    """
    view = tracker().models.show(ref)
    data = view.to_json()
    if as_json:
        emit_json(data)
        return
    out = console()

    def p(text: str) -> None:
        out.print(text, markup=False)

    p(f"model {data['ref']}  {data['digest']}  ({data['kind']}, {_size(data['size'])})")
    p(f"  registered by {data['registered_by']} at {_when(data['registered_at'])} UTC")
    if data["note"]:
        p(f"  note: {data['note']}")
    p(f"  aliases: {', '.join(data['aliases']) or '-'}")
    for r in data["reviews"]:
        p(f"  {r['decision']} by {r['actor']} at {_when(r['at'])}" + _note(r))
    if not data["reviews"]:
        p("  reviews: none")
    up: dict[str, Any] | None = data["upstream"]
    if up is not None:
        code = up["code"]
        commit = (code.get("commit") or "?")[:12] + (" (dirty)" if code.get("dirty") else "")
        p(f"  run {up['run']} ({up['experiment']}, by {up['author']})  path {data['path']}")
        p(f"  code {commit}")
        p(f"  data {', '.join(up['datasets']) or '-'}  ({len(up['inputs'])} inputs)")
        params = ", ".join(f"{k}={v}" for k, v in sorted(up["params"].items()))
        p(f"  params {params or '-'}")
    else:
        p("  run: none recorded (registered from a digest no run wrote)")
    if data["selection"]:
        from pedigree.selection.context import sentence

        p(f"  selected: {sentence(data['selection'])}")
    p(f"  identities on this store are {data['identity']}")


def _note(r: dict[str, Any]) -> str:
    return f": {r['note']}" if r.get("note") else ""


@model.command()
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=int)
@json_option
def alias(name: str, alias: str, version: int, as_json: bool) -> None:
    """Point ALIAS of model NAME at VERSION (a number).

    A protected alias (production by default) is refused (exit 4) unless someone other than the
    version's registrant and its run's author approved it: pedigree approve model:NAME/N.

    \b
    Example:
      pedigree model alias tsmom production 3
    """
    from pedigree.times import iso

    move = tracker().models.alias(name, alias, version)
    if as_json:
        emit_json(
            {
                "name": move.name,
                "alias": move.alias,
                "version": move.version,
                "previous": move.previous,
                "actor": move.actor,
                "at": iso(move.at),
            }
        )
        return
    was = f" (was {move.previous})" if move.previous is not None else ""
    console().print(f"{name}@{alias} -> {name}/{version}{was}", markup=False)


@model.command()
@click.argument("name")
@json_option
def history(name: str, as_json: bool) -> None:
    """Every version, review and alias move of model NAME, with who did it and when.

    \b
    Example:
      pedigree model history tsmom
    """
    events = tracker().models.history(name)
    if as_json:
        emit_json(events)
        return
    for e in events:
        if e["event"] == "registered":
            what = f"registered v{e['version']}  {e['digest'][:19]}" + _note(e)
        elif e["event"] == "alias":
            was = f" (was v{e['previous']})" if e["previous"] is not None else ""
            what = f"alias {e['alias']} -> v{e['version']}{was}"
        else:
            what = f"{e['event']} v{e['version']}" + _note(e)
        console().print(f"{_when(e['at'])}  {e['actor']}  {what}", markup=False)
