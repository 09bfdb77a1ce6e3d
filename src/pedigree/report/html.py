"""The compliance report as one self-contained HTML file: inline CSS and SVG, no script.

Everything taken from the record is escaped; the file makes no request when opened, so it can
be filed, mailed and read offline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from pedigree.report.svg import lineage_svg, logit_histogram_svg, sparkline

__all__ = ["render"]

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1b1f24;
       margin: 0 auto; max-width: 1100px; padding: 24px 32px 64px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; margin-top: 32px; }
.sub { color: #57606a; margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px;
         border-bottom: 1px solid #eaeef2; }
th { background: #f6f8fa; font-weight: 600; }
table.kv th { width: 180px; background: none; color: #57606a; font-weight: normal; }
code, pre, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: 8px; overflow-x: auto;
      white-space: pre-wrap; word-break: break-all; max-height: 480px; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #1a7f37; font-weight: 600; } .bad { color: #c62828; font-weight: 600; }
.note { color: #57606a; font-style: italic; }
.banner { border: 1px solid #1a7f37; background: #eef7ee; padding: 8px 12px; border-radius: 6px; }
.banner.warn { border-color: #bf8700; background: #fff8c5; }
ul.packages { columns: 4 200px; list-style: none; padding: 0; margin: 4px 0; font-size: 12px; }
ul.packages li { break-inside: avoid; }
.diagram { overflow-x: auto; border: 1px solid #d0d7de; padding: 8px; background: #fff; }
@media print { pre { max-height: none; } .diagram { overflow: visible; } }
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _num(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.10g}"
    return _e(value)


def _when(iso: str | None) -> str:
    return "-" if not iso else _e(iso[:19].replace("T", " ") + " UTC")


def _kv(rows: Iterable[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _section(ident: str, title: str, body: str) -> str:
    return f'<section id="{ident}"><h2>{_e(title)}</h2>{body}</section>'


def _code(facts: dict[str, Any]) -> str:
    code = facts["run"]["code"]
    patch = facts["patch"]
    rows = [
        ("commit", f"<code>{_e(code.get('commit') or 'not in git')}</code>"),
        ("branch", _e(code.get("branch") or "-")),
        ("remote", _e(code.get("remote") or "-")),
        ("uncommitted changes", "yes" if code.get("dirty") else "no"),
        ("patch digest", f"<code>{_e(patch['digest'] or '-')}</code>"),
    ]
    body = _kv(rows)
    if patch["text"] is not None:
        if patch["note"]:
            body += f'<p class="note">{_e(patch["note"])}</p>'
        body += f'<pre class="patch">{_e(patch["text"])}</pre>'
    elif patch["note"]:
        body += f'<p class="note">{_e(patch["note"])}</p>'
    untracked = code.get("untracked") or []
    if untracked:
        body += "<h3>Untracked files</h3>" + _table(
            ["path", "size", "digest"],
            (
                [
                    _e(u["path"]),
                    f'<span class="num">{u["size"]:,}</span>',
                    f"<code>{_e(u.get('digest') or u.get('skipped'))}</code>",
                ]
                for u in untracked
            ),
        )
    for note in code.get("notes") or []:
        body += f'<p class="note">{_e(note)}</p>'
    return _section("code", "Code", body)


def _data(facts: dict[str, Any]) -> str:
    run = facts["run"]
    body = ""
    capture = run.get("capture") or {}
    if capture.get("files") in ("partial", "off"):
        # A record that looks complete but is not is worse than none: say what may be missing.
        reasons = "".join(f"<li>{_e(r)}</li>" for r in capture.get("reasons") or [])
        body += (
            f'<p class="bad">File capture {_e(capture["files"])} (traced: '
            f"{_e(capture.get('trace'))}): files this run read or wrote may be missing "
            f"below.</p><ul>{reasons}</ul>"
        )
    elif capture.get("files") == "complete":
        body += f'<p class="note">File capture complete (traced: {_e(capture.get("trace"))}).</p>'
    for role in ("inputs", "outputs"):
        items = run.get(role) or []
        if not items:
            body += f'<p class="note">No {role} recorded.</p>'
            continue
        body += f"<h3>{role.capitalize()}</h3>" + _table(
            ["path", "kind", "size (bytes)", "digest", "how"],
            (
                [
                    _e(i["path"]),
                    _e(i["kind"]),
                    f'<span class="num">{i["size"]:,}</span>',
                    f"<code>{_e(i['digest'])}</code>",
                    ("declared" if i.get("declared") else "captured")
                    + (
                        ' <span class="bad">modified during the run</span>'
                        if i.get("modified")
                        else ""
                    ),
                ]
                for i in items
            ),
        )
    return _section("data", "Data", body)


def _environment(facts: dict[str, Any]) -> str:
    env = facts["run"]["environment"]
    if not env.get("digest"):
        return _section("environment", "Environment", '<p class="note">Not captured.</p>')
    rows = [
        ("python", _e(f"{env.get('python') or '-'} {env.get('implementation') or ''}")),
        ("executable", f"<code>{_e(env.get('executable'))}</code>"),
        ("platform", _e(env.get("platform"))),
        ("host", _e(f"{env.get('hostname') or facts['run'].get('host') or '-'}")),
        ("cpu", _e(f"{env.get('cpu') or '-'} ({env.get('cpu_count') or '?'} cores)")),
        ("container", _e(_container(env.get("container")))),
        ("environment digest", f"<code>{_e(env['digest'])}</code>"),
        ("packages digest", f"<code>{_e(env.get('packages_digest'))}</code>"),
    ]
    packages = env.get("packages") or []
    body = _kv(rows)
    if packages:
        items = "".join(f"<li><code>{_e(n)}</code> {_e(v)}</li>" for n, v in packages)
        body += f'<h3>Packages ({len(packages)})</h3><ul class="packages">{items}</ul>'
    return _section("environment", "Environment", body)


def _container(info: Any) -> str:
    if not isinstance(info, dict):
        return "-"
    shown = [f"{k} {v}" for k, v in info.items() if v]
    return ", ".join(shown) or "-"


def _params(facts: dict[str, Any]) -> str:
    params = facts["run"]["params"]
    if not params:
        return _section("parameters", "Parameters", '<p class="note">No parameters.</p>')
    rows = ([_e(k), f"<code>{_e(v)}</code>"] for k, v in sorted(params.items()))
    seed = facts["run"].get("seed")
    extra = f"<p>seed: <code>{_e(seed)}</code></p>" if seed is not None else ""
    return _section("parameters", "Parameters", extra + _table(["name", "value"], rows))


def _metrics(facts: dict[str, Any]) -> str:
    latest = facts["run"]["metrics"]
    if not latest:
        return _section("metrics", "Metrics", '<p class="note">No metrics.</p>')
    series = facts["series"]
    rows = (
        [
            _e(k),
            f'<span class="num">{_num(v)}</span>',
            f'<span class="num">{len(series.get(k, []))}</span>',
            sparkline(series.get(k, [])),
        ]
        for k, v in sorted(latest.items())
    )
    return _section("metrics", "Metrics", _table(["name", "latest", "points", "by step"], rows))


def _lineage(facts: dict[str, Any]) -> str:
    reviews: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for key, items in facts["reviews"].items():
        kind, _, ident = key.partition(":")
        reviews[(kind, ident)] = items
    svg, left_out = lineage_svg(
        facts["lineage"],
        outputs=facts["run"].get("outputs") or [],
        reviews=reviews,
    )
    body = (
        "<p>What this run came from (left) and what it produced (right): runs are rounded "
        "boxes, artifact versions square; a dot marks a review (green approved, red "
        "rejected); dashed arrows join reproductions.</p>"
    )
    body += f'<div class="diagram">{svg}</div>'
    if left_out or facts["lineage"].get("truncated"):
        body += (
            f'<p class="note">{left_out} more nodes are not drawn; see '
            f"<code>pedigree lineage {_e(facts['run']['id'])} --up</code>.</p>"
        )
    return _section("lineage", "Lineage", body)


def _reproductions(facts: dict[str, Any]) -> str:
    reps = facts["reproductions"]
    if not reps:
        body = '<p class="note">This run has not been reproduced.</p>'
    else:
        rows = []
        for r in reps:
            verdict = r["verdict"]
            cls = "ok" if verdict in ("identical", "equivalent") else "bad"
            differed = (r.get("details") or {}).get("differences") or []
            rows.append(
                [
                    f"<code>{_e(r['id'])}</code>",
                    f'<span class="{cls}">{_e(verdict)}</span>',
                    _when(r.get("at")),
                    _e("; ".join(str(d) for d in differed[:10]) or "-"),
                ]
            )
        body = _table(["reproduction run", "verdict", "when", "what differed"], rows)
    of = facts["run"].get("reproduction_of")
    if of:
        body += (
            f"<p>This run is itself a reproduction of <code>{_e(of['original'])}</code>: "
            f"{_e(of['verdict'])}.</p>"
        )
    return _section("reproductions", "Reproductions", body)


def _identity(item: dict[str, Any]) -> str:
    """`` (authenticated)`` or `` (self-declared)``: whether the team server proved who it was."""
    identity = item.get("identity")
    return f' <span class="note">({_e(identity)})</span>' if identity else ""


def _decision(a: dict[str, Any]) -> str:
    return (
        f'<span class="{"ok" if a["decision"] == "approved" else "bad"}">{_e(a["decision"])}</span>'
    )


def _reviewed(facts: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The reviews of the other nodes of the diagram (inputs, outputs, upstream runs), labelled."""
    run_id = facts["run"]["id"]
    labels: dict[str, str] = {}
    for n in facts["lineage"]["nodes"]:
        key = f"{n['kind']}:{n['id']}"
        if n["kind"] == "run":
            labels[key] = f"run {n.get('short') or n['id']}"
        else:
            names = (n.get("paths") or [])[:1] + (n.get("datasets") or [])
            labels[key] = "  ".join([*names, n["id"]])
    for out in facts["run"].get("outputs") or []:
        labels.setdefault(f"artifact:{out['digest']}", f"{out['path']}  {out['digest']}")
    found = []
    for key, items in facts["reviews"].items():
        if key == f"run:{run_id}":
            continue
        label = labels.get(key, key.partition(":")[2])
        found += [(label, a) for a in items]
    return sorted(found, key=lambda la: (la[1]["at"] or "", la[0]))


def _approvals(facts: dict[str, Any]) -> str:
    items = facts["run"].get("approvals") or []
    others = _reviewed(facts)
    if not items and not others:
        return _section("approvals", "Approvals", '<p class="note">No reviews recorded.</p>')
    if items:
        rows = (
            [_decision(a), _e(a["actor"]) + _identity(a), _when(a["at"]), _e(a.get("note") or "")]
            for a in items
        )
        body = _table(["decision", "by", "when", "note"], rows)
    else:
        body = '<p class="note">No review of this run recorded.</p>'
    if others:
        rows = (
            [
                f"<code>{_e(label)}</code>",
                _decision(a),
                _e(a["actor"]),
                _when(a["at"]),
                _e(a.get("note") or ""),
            ]
            for label, a in others
        )
        body += "<h3>Reviews of its data, outputs and upstream runs</h3>" + _table(
            ["reviewed", "decision", "by", "when", "note"], rows, cls="reviewed"
        )
    return _section("approvals", "Approvals", body)


def _audit(facts: dict[str, Any]) -> str:
    audit = facts["audit"]
    head = audit["head"]
    check = audit["verification"]
    if check:
        banner = (
            f'<p class="banner">The whole audit log was verified when this report was made: '
            f"{check['events']:,} events, chain intact, and {check['rows']:,} table rows agree "
            "with it.</p>"
        )
    else:
        banner = (
            '<p class="banner warn">The audit log was not verified for this report '
            "(<code>--no-verify</code>).</p>"
        )
    body = banner + _kv(
        [
            ("head seq", f"{head['seq']:,}"),
            ("head digest", f"<code>{_e(head['digest'])}</code>"),
            ("head written", _when(head["at"])),
        ]
    )
    body += (
        "<p>Anyone can later prove that the record of this run was not changed since: "
        f"<code>pedigree audit verify --anchor {_e(head['digest'])}</code>.</p>"
    )
    rows = (
        [
            f'<span class="num">{e["seq"]:,}</span>',
            _when(e["at"]),
            _e(e["actor"]),
            _e(e.get("identity") or ""),
            _e(e["kind"]),
            f"<code>{_e(e['digest'])}</code>",
        ]
        for e in audit["events"]
    )
    body += "<h3>This run's events in the log</h3>" + _table(
        ["seq", "at", "actor", "identity", "kind", "digest"], rows
    )
    return _section("audit", "Audit trail", body)


def _selection(facts: dict[str, Any]) -> str:
    """How this result was selected: a sweep trial's context, the winner's DSR and PBO."""
    sel = facts.get("selection")
    if not sel:
        return ""
    context = sel["context"]
    body = f'<p class="banner warn">{_e(sel["sentence"][0].upper() + sel["sentence"][1:])}.</p>'
    a = sel.get("assessment")
    if a:
        rows = [
            ("trials (N)", _num(a["trials"])),
            ("effective independent trials", _num(a["effective_trials"])),
            (
                "Sharpe ratio",
                f"{_num(a['sharpe'])} per period, {_num(a['sharpe_annualized'])} annualized",
            ),
            ("skewness, kurtosis", f"{_num(a['skew'])}, {_num(a['kurtosis'])}"),
            ("PSR (against 0)", _num(a["psr"])),
            ("SR0 (best of N unskilled)", _num(a["sr0"])),
            ("Deflated Sharpe Ratio", f"<strong>{_num(a['dsr'])}</strong>"),
            ("PBO", f"<strong>{_num(a['pbo'])}</strong>"),
        ]
        if a.get("prob_oos_loss") is not None:
            rows.append(("probability of loss out of sample", _num(a["prob_oos_loss"])))
        body += (
            f"<p>{_e(a.get('reading'))}</p><p>{_e(a.get('pbo_reading'))}</p>"
            + _kv(rows)
            + "<p>The PBO logits, one per split of the combinatorially symmetric "
            "cross-validation (red: the in-sample best ranked below the median out of "
            "sample):</p>"
            + f'<div class="diagram">{logit_histogram_svg(a.get("pbo_logits") or [])}</div>'
        )
    if sel.get("note"):
        body += f'<p class="note">{_e(sel["note"])}</p>'
    body += (
        f'<p class="note">Sweep <code>{_e(context["sweep"])}</code>. The measures and their '
        "sources: docs/selection.md.</p>"
    )
    return _section("selection", "How this result was selected", body)


def _model(facts: dict[str, Any]) -> str:
    """The registered model version the report was asked about (``report model:NAME@ALIAS``):
    the run below is the one that produced it, and this says what stands on it now."""
    model = facts.get("model")
    if not model:
        return ""
    aliases = ", ".join(model.get("aliases") or []) or "none"
    four_eyes = model.get("four_eyes") or {}
    body = _kv(
        [
            ("model version", f"<code>{_e(model['ref'])}</code>"),
            ("asked as", f"<code>{_e(model.get('asked') or model['ref'])}</code>"),
            ("aliases now", _e(aliases)),
            ("content", f"<code>{_e(model['digest'])}</code> ({_e(model.get('kind'))})"),
            (
                "produced by run",
                f"<code>{_e(model.get('run_id'))}</code> at {_e(model.get('path'))}",
            ),
            (
                "registered by",
                _e(model.get("registered_by")) + f" at {_when(model.get('registered_at'))}",
            ),
            (
                "four-eyes approval",
                "yes" if four_eyes.get("approved") else "no (a protected alias may not point here)",
            ),
            ("identities", _e(model.get("identity"))),
        ]
    )
    reviews = model.get("reviews") or []
    if reviews:
        body += "<h3>Reviews of this model version</h3>" + _table(
            ["decision", "by", "when", "note"],
            (
                [_decision(r), _e(r["actor"]), _when(r["at"]), _e(r.get("note") or "")]
                for r in reviews
            ),
        )
    else:
        body += '<p class="note">No review of this model version recorded.</p>'
    return _section("model", "Model version", body)


def render(facts: dict[str, Any]) -> str:
    run = facts["run"]
    gen = facts["generated"]
    title = f"Run {run['id']}"
    summary = _kv(
        [
            ("run", f"<code>{_e(run['id'])}</code>"),
            ("experiment", _e(run["experiment"])),
            ("name", _e(run.get("name") or "-")),
            (
                "status",
                _e(run["status"])
                + (
                    f" (exit code {_e(run['exit_code'])})"
                    if run.get("exit_code") is not None
                    else ""
                ),
            ),
            ("command", f"<code>{_e(' '.join(run.get('command') or []))}</code>"),
            ("working directory", f"<code>{_e(run.get('cwd'))}</code>"),
            ("run by", _e(f"{run.get('user')}@{run.get('host')}") + _identity(run)),
            ("started", _when(run.get("started_at"))),
            ("ended", _when(run.get("ended_at"))),
        ]
    )
    sections = [
        _section("summary", "Summary", summary),
        _model(facts),
        _selection(facts),
        _code(facts),
        _data(facts),
        _environment(facts),
        _params(facts),
        _metrics(facts),
        _lineage(facts),
        _reproductions(facts),
        _approvals(facts),
        _audit(facts),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>Pedigree report: {_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Compliance report: {_e(run.get('name') or run['experiment'])}</h1>"
        f'<p class="sub">{_e(title)} · generated {_when(gen["at"])} by {_e(gen["by"])} with '
        f"Pedigree {_e(gen['pedigree'])} · project {_e(gen['project'])}</p>"
        + "".join(sections)
        + "</body></html>\n"
    )
