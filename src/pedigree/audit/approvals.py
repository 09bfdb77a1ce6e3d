"""Reviews: approving or rejecting a run or an artifact version, recorded in the audit log.

A review names its target the way ``lineage`` does: a run (a full id, a unique prefix or
``last``), a dataset version ``NAME@vN``, or an artifact version by its digest. The actor is the
context's identity (``PEDIGREE_USER``, the project's ``[user] name``, or the OS user). The target
is resolved inside the write transaction, so an unknown target writes nothing. A project may
require a Deflated Sharpe Ratio of a sweep's winner before it is approved (``[approvals]
min_dsr``); an approval against that policy needs an override with its reason.

>>> import tempfile
>>> from pedigree.config import init_project
>>> from pedigree.context import Actor, Context
>>> from pedigree.tracking.recording import create_run
>>> project, _ = init_project(tempfile.mkdtemp())
>>> ctx = Context(project, actor=Actor("maria"))
>>> run_id = create_run(ctx, experiment="ma-crossover")
>>> approval = review(ctx, "last", "approved", note="out-of-sample Sharpe holds")
>>> approval["target"] == run_id, approval["actor"], approval["decision"]
(True, 'maria', 'approved')
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pedigree.errors import Conflict, InvalidInput, InvalidValue
from pedigree.ids import new_id
from pedigree.times import iso

if TYPE_CHECKING:
    from pedigree.context import Context
    from pedigree.store.events import Event
    from pedigree.store.reader import Reader
    from pedigree.store.reads.reviews import Approval

__all__ = ["DECISIONS", "approvals_by_node", "dsr_policy", "enrich_records", "review"]

DECISIONS = ("approved", "rejected")
MAX_NOTE = 10_000


def _sweep_winner(ctx: Context, target: str) -> tuple[str, str] | None:
    """(run id, sweep id) when ``target`` names a run that is the best trial of its sweep."""
    from pedigree.lineage.target import resolve_target
    from pedigree.sweep.results import load_report

    with ctx.read() as reader:
        found = resolve_target(reader, target, root=ctx.project.root)
        if found.kind != "run":
            return None
        run_id = found.nodes[0].key
        row = reader.run_rows([run_id]).get(run_id)
        parent = row.parent_id if row is not None else None
        sweep = reader.run_rows([parent]).get(parent) if parent else None
    if sweep is None or sweep.kind != "sweep":
        return None
    best = load_report(ctx, sweep.id).best
    return (run_id, sweep.id) if best is not None and best.id == run_id else None


def dsr_policy(ctx: Context, target: str) -> dict[str, Any] | None:
    """What ``[approvals] min_dsr`` says of approving ``target``: None when it does not apply
    (no policy, not a sweep's best trial), else {policy, min_dsr, dsr, sweep, trials, run, ok,
    problem}; ``dsr`` is None (and ``problem`` says why) when it cannot be computed."""
    from pedigree.sweep.assess import assess_sweep

    min_dsr = ctx.project.min_dsr
    if min_dsr is None:
        return None
    winner = _sweep_winner(ctx, target)
    if winner is None:
        return None
    run_id, sweep_id = winner
    found: dict[str, Any] = {
        "policy": "approvals.min_dsr",
        "min_dsr": min_dsr,
        "run": run_id,
        "sweep": sweep_id,
        "dsr": None,
        "trials": None,
        "problem": None,
    }
    try:
        a = assess_sweep(ctx, sweep_id)
    except InvalidInput as exc:
        found["problem"] = str(exc)
    else:
        found.update(dsr=a["dsr"], trials=a["trials"])
    found["ok"] = found["dsr"] is not None and found["dsr"] >= min_dsr
    return found


def _refusal(policy: dict[str, Any]) -> str:
    head = f"run {policy['run']} is the best trial of sweep {policy['sweep']}"
    if policy["dsr"] is None:
        why = f"its DSR cannot be computed ({policy['problem']})"
    else:
        why = (
            f"its Deflated Sharpe Ratio over {policy['trials']} trials is {policy['dsr']:.4f}, "
            f"below [approvals] min_dsr {policy['min_dsr']:g}"
        )
    return f'{head} and {why}: approve it with --override "reason" to record why'


def review(
    ctx: Context,
    target: str,
    decision: str,
    *,
    note: str | None = None,
    override: str | None = None,
) -> dict[str, Any]:
    """Record ``decision`` on ``target``; returns the approval as stored.

    With ``[approvals] min_dsr`` set, approving a sweep's best trial whose DSR is below it (or
    cannot be computed) raises ``Conflict`` (exit 4) unless ``override`` gives the reason; the
    reason, the DSR and the threshold go into the approval event (``override``) and its note.
    """
    from pedigree.lineage.target import resolve_target

    if decision not in DECISIONS:
        raise InvalidInput(f"a review decision is one of {', '.join(DECISIONS)}, not {decision!r}")
    if target.strip().lower().startswith("model:"):  # a registered model version: model:NAME/N
        from pedigree.models.registry import review_model

        if override is not None:
            raise InvalidInput("--override applies to a sweep's best trial, not a model version")
        return review_model(ctx, target, decision, note=note)
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidValue(f"the note is {len(note):,} characters; the limit is {MAX_NOTE:,}")
    reason = (override or "").strip() or None
    if override is not None and reason is None:
        raise InvalidInput("--override needs a reason: why approve despite the policy")
    recorded_override: dict[str, Any] | None = None
    if decision == "approved":
        policy = dsr_policy(ctx, target)
        if policy is not None and not policy["ok"]:
            if reason is None:
                raise Conflict(_refusal(policy))
            recorded_override = {
                "reason": reason,
                **{k: policy[k] for k in ("policy", "min_dsr", "dsr", "sweep", "trials")},
            }
            dsr = "not computable" if policy["dsr"] is None else f"{policy['dsr']:.4f}"
            said = f"override of [approvals] min_dsr {policy['min_dsr']:g} (DSR {dsr}): {reason}"
            note = f"{note}\n{said}" if note else said
            if len(note) > MAX_NOTE:
                raise InvalidValue(
                    f"the note and override are {len(note):,} characters; the limit is {MAX_NOTE:,}"
                )
    four_eyes = None
    if decision == "approved":
        from pedigree.identity.policy import policy_for_review

        four_eyes = policy_for_review(ctx)
    approval: dict[str, Any] = {}
    selection: dict[str, Any] = {}

    def build(reader: Reader) -> list[Event]:
        found = resolve_target(reader, target, root=ctx.project.root)
        if found.kind == "path":
            raise InvalidInput(
                f"{target} is a path, which may hold several versions: review a run, a dataset "
                "version (NAME@vN) or one version by its digest (see `pedigree lineage "
                f"{target}`)"
            )
        node = found.nodes[0]
        target_type = {"run": "run", "dataset": "dataset", "digest": "artifact"}[found.kind]
        key = found.label if found.kind == "dataset" else node.key
        approval.update(
            id=new_id(),
            target_type=target_type,
            target=key,
            decision=decision,
            note=note,
            actor=ctx.user,
            at=time.time(),
        )
        # A run's review is filed under the run (ApprovalRecorded.scope), so that
        # `audit log --run` lists it with the run.
        extra: dict[str, Any] = {}
        if recorded_override is not None:
            extra["override"] = recorded_override
        if four_eyes is not None and target_type in ("run", "dataset"):
            from pedigree.identity.policy import check_approval, check_dataset_approval

            # Four eyes ([approvals] allow_self = false): not the run's author, nor the
            # producer of what it read, nor who added the dataset version (SelfApproval, exit 9).
            if target_type == "run":
                check_approval(reader, actor=ctx.user, run_id=key, policy=four_eyes)
            else:
                check_dataset_approval(reader, actor=ctx.user, ref=key, policy=four_eyes)
        if target_type == "run":
            from pedigree.selection.context import selection_context

            selected = selection_context(reader, key)
            if selected is not None:
                extra["selection"] = selection
                selection.update(selected)
        from pedigree.store.events import ApprovalRecorded  # a read needs no events

        return [ApprovalRecorded(**approval, **extra)]

    ctx.write(build)
    return {
        **approval,
        "at": iso(approval["at"]),
        "override": recorded_override,
        "selection": selection or None,
    }


def _as_json(a: Approval) -> dict[str, Any]:
    return {"decision": a.decision, "note": a.note, "actor": a.actor, "at": iso(a.at)}


def enrich_records(reader: Reader, records: list[dict[str, Any]], detail: bool) -> None:
    """Add ``approvals`` [{decision, note, actor, at}] (oldest first) to run records.

    With ``detail`` (``show``), a reviewed input or output (its artifact version, or the dataset
    version it is) also gets ``approvals``; an item nobody reviewed has no such key.
    """
    if not records:
        return
    if detail:
        items = [i for r in records for role in ("inputs", "outputs") for i in r.get(role) or []]
        digests = sorted({i["digest"] for i in items if i.get("digest")})
        if digests:
            reviewed = approvals_by_node(reader, [], digests)
            for item in items:
                if ("artifact", item.get("digest")) in reviewed:
                    item["approvals"] = reviewed[("artifact", item["digest"])]
    found: dict[str, list[dict[str, Any]]] = {r["id"]: [] for r in records}
    for a in reader.run_approvals(list(found)):
        found[a.target].append(_as_json(a))
    for rec in records:
        rec["approvals"] = found[rec["id"]]


def approvals_by_node(
    reader: Reader, run_ids: Sequence[str], digests: Sequence[str]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Reviews of lineage nodes: ``("run", id)`` and ``("artifact", digest)`` keys.

    A dataset version's reviews belong to the artifact its digest names.
    """
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in reader.run_approvals(run_ids):
        out.setdefault(("run", a.target), []).append(_as_json(a))
    for a in reader.artifact_approvals(digests):
        out.setdefault(("artifact", a.target), []).append(_as_json(a))
    return out
