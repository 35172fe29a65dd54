"""``hub customers ...``: one canonical customer across sources (identity resolution, ``docs/identity.md``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from hub import fmt
from hub.cli.common import By, Note, actor, check_choice, emit, err, handled, out, session, state, table
from hub.codes import LINK_STATUSES


def _list(
    unlinked: Annotated[
        bool, typer.Option("--unlinked", help="Only records of other sources that belong to no master customer.")
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Show at most this many.")] = None,
) -> None:
    """Customer records by canonical id: master records, records linked to them (and how), and the rest."""
    with session() as hub:
        master = hub.master_source()
        rows = hub.customers.records(unlinked=unlinked, limit=limit)
    title = "customer records of no master customer" if unlinked else "customer records"
    emit(
        {"master_source": master, "customers": rows},
        table(
            f"{title} ({fmt.count(len(rows))})",
            ["canonical id", "source", "external id", "name", "country", "state", "proposals"],
            [
                [
                    r["canonical_id"],
                    r["source"],
                    r["external_id"],
                    r["name"],
                    r["country"] or "-",
                    r["state"] + (f" ({r['method']})" if r["method"] else ""),
                    r["open_proposals"] or "-",
                ]
                for r in rows
            ],
        ),
    )


def _link(
    record: Annotated[str, typer.Argument(help="The record to link, as SOURCE:EXTERNAL_ID (e.g. crm:0011x00000AbC).")],
    canonical_id: Annotated[str, typer.Argument(help="The canonical customer id it belongs to.")],
    by: By = None,
    note: Note = None,
) -> None:
    """Link a customer record to a canonical customer by hand (audited); wins over automatic resolution."""
    with session() as hub:
        done = hub.customers.link(record, canonical_id, actor=actor(by), note=note)
    emit({"linked": done}, None)
    if not state.json:
        out.print(
            f"linked {escape(done['record'])} to {escape(done['canonical_id'])} (was {escape(done['previous'])})",
            highlight=False,
        )


def _unlink(
    record: Annotated[str, typer.Argument(help="The record to unlink, as SOURCE:EXTERNAL_ID.")],
    by: By = None,
    note: Note = None,
) -> None:
    """Return a record to its own canonical id, for good: automatic resolution never links it again."""
    with session() as hub:
        done = hub.customers.unlink(record, actor=actor(by), note=note)
    emit({"unlinked": done}, None)
    if not state.json:
        what = f"was {done['previous']}" if done["was_linked"] else "was not linked; kept apart from now on"
        out.print(
            f"unlinked {escape(done['record'])}: now {escape(done['canonical_id'])} ({escape(what)})", highlight=False
        )


def _evidence(found: list[dict[str, Any]]) -> str:
    return "; ".join(str(e.get("detail") or e.get("rule")) for e in found)


def _proposals(
    status: Annotated[
        str, typer.Option("--status", help="proposed (open), rejected, superseded, applied, manual or unlinked.")
    ] = "proposed",
) -> None:
    """Links identity resolution proposes (name matches, conflicts, contradicted matches), strongest first."""
    check_choice("--status", status, LINK_STATUSES)
    with session() as hub:
        found = hub.customers.proposals(status)
    emit(
        {"proposals": found},
        table(
            f"link proposals, {status} ({fmt.count(len(found))})",
            ["id", "record", "name", "canonical id", "its name", "method", "confidence"],
            [
                [
                    p["id"],
                    p["record"],
                    p["record_name"] or "-",
                    p["canonical_id"],
                    p["canonical_name"] or "-",
                    p["method"],
                    fmt.share(p["confidence"]),
                ]
                for p in found
            ],
            numeric=["confidence"],
        ),
    )
    if state.json:
        return
    for p in found:  # the evidence is sentences: below the table, where they need not wrap in a narrow column
        out.print(f"[bold]{p['id']}[/bold]: {escape(_evidence(p['evidence']))}", highlight=False)
    if status == "proposed" and found:
        err.print("decide with 'hub customers accept ID' or 'hub customers reject ID'", highlight=False)


def _accept(
    proposal_id: Annotated[int, typer.Argument(help="The proposal's id (from 'hub customers proposals').")],
    by: By = None,
) -> None:
    """Accept a link proposal: the record joins that canonical customer (audited)."""
    with session() as hub:
        done = hub.customers.accept(proposal_id, actor=actor(by))
    emit({"accepted": done}, None)
    if not state.json:
        out.print(f"linked {escape(done['record'])} to {escape(done['canonical_id'])}", highlight=False)


def _reject(
    proposal_id: Annotated[int, typer.Argument(help="The proposal's id (from 'hub customers proposals').")],
    by: By = None,
) -> None:
    """Reject a link proposal: that pair is never proposed or linked automatically again."""
    with session() as hub:
        done = hub.customers.reject(proposal_id, actor=actor(by))
    emit({"rejected": done}, None)
    if not state.json:
        out.print(f"rejected linking {escape(done['record'])} to {escape(done['canonical_id'])}", highlight=False)


def _resolve() -> None:
    """Run identity resolution now: link records by tax id, explicit links and IBAN; propose by name."""
    with session() as hub:
        stats = hub.resolve_identities()
    data = stats.as_dict()
    applied = ", ".join(f"{n} by {m}" for m, n in sorted(stats.applied.items())) or "none"
    emit(
        data,
        table(
            "identity resolution",
            ["considered", "linked", "proposed", "conflicts", "unmatched", "kept unlinked", "invalid ids"],
            [
                [
                    fmt.count(stats.considered),
                    f"{fmt.count(stats.linked)} ({applied})",
                    fmt.count(stats.proposed),
                    fmt.count(stats.conflicts),
                    fmt.count(stats.unmatched),
                    fmt.count(stats.kept_unlinked),
                    fmt.count(len(stats.invalid)),
                ]
            ],
        ),
    )
    if state.json:
        return
    for bad in stats.invalid:
        err.print(
            f"invalid {escape(bad['field'])} {escape(bad['value'])} on {escape(bad['source'])}:"
            f"{escape(bad['external_id'])}: {escape(bad['problem'])} (not used)",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``hub customers`` (list, link, unlink, proposals, accept, reject, resolve) to the hub command line."""

    group = typer.Typer(
        help="One canonical customer across sources: links, proposals, resolution.", no_args_is_help=True
    )
    group.command("list")(handled(_list))
    group.command("link")(handled(_link))
    group.command("unlink")(handled(_unlink))
    group.command("proposals")(handled(_proposals))
    group.command("accept")(handled(_accept))
    group.command("reject")(handled(_reject))
    group.command("resolve")(handled(_resolve))
    app.add_typer(group, name="customers")
