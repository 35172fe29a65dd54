"""``hub customers ...``: one canonical customer across sources (identity resolution, ``docs/identity.md``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

# ``hub.cli`` imports this module while it is being set up, so its helpers are imported when a
# command runs, not here (as in hub.cli_collections).
By = Annotated[str | None, typer.Option("--by", help="Who acts (default: $HUB_USER or the login name).")]
Note = Annotated[str | None, typer.Option("--note", help="Why, for the audit log.")]


def _list(
    unlinked: Annotated[
        bool, typer.Option("--unlinked", help="Only records of other sources that belong to no master customer.")
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Show at most this many.")] = None,
) -> None:
    """Customer records by canonical id: master records, records linked to them (and how), and the rest."""
    from hub import cli as hubcli
    from hub import identity

    with hubcli.session() as hub:
        hub.store.check_ready()
        master = hub.master_source()
        with hub.store.connect() as conn:
            rows = identity.customers(conn, master_source=master, unlinked=unlinked, limit=limit)
    title = "customer records of no master customer" if unlinked else "customer records"
    hubcli.emit(
        {"master_source": master, "customers": rows},
        hubcli.table(
            f"{title} ({len(rows)})",
            ["canonical id", "source", "external id", "name", "country", "state", "proposals"],
            [[r["canonical_id"], r["source"], r["external_id"], r["name"], r["country"] or "-",
              r["state"] + (f" ({r['method']})" if r["method"] else ""), r["open_proposals"] or "-"] for r in rows],
        ),
    )


def _link(
    record: Annotated[str, typer.Argument(help="The record to link, as SOURCE:EXTERNAL_ID (e.g. crm:0011x00000AbC).")],
    canonical_id: Annotated[str, typer.Argument(help="The canonical customer id it belongs to.")],
    by: By = None,
    note: Note = None,
) -> None:
    """Link a customer record to a canonical customer by hand (audited); wins over automatic resolution."""
    from hub import cli as hubcli
    from hub import identity

    source, ext = identity.parse_record_ref(record)
    with hubcli.session() as hub:
        hub.store.check_ready()
        done = identity.link(hub.store, source, ext, canonical_id, actor=hubcli._actor(by),
                             master_source=hub.master_source(), note=note)
    hubcli.emit({"linked": done}, None)
    if not hubcli.state.json:
        hubcli.out.print(
            f"linked {escape(done['record'])} to {escape(done['canonical_id'])} (was {escape(done['previous'])})",
            highlight=False,
        )


def _unlink(
    record: Annotated[str, typer.Argument(help="The record to unlink, as SOURCE:EXTERNAL_ID.")],
    by: By = None,
    note: Note = None,
) -> None:
    """Return a record to its own canonical id, for good: automatic resolution never links it again."""
    from hub import cli as hubcli
    from hub import identity

    source, ext = identity.parse_record_ref(record)
    with hubcli.session() as hub:
        hub.store.check_ready()
        done = identity.unlink(hub.store, source, ext, actor=hubcli._actor(by), master_source=hub.master_source(),
                               note=note)
    hubcli.emit({"unlinked": done}, None)
    if not hubcli.state.json:
        what = f"was {done['previous']}" if done["was_linked"] else "was not linked; kept apart from now on"
        hubcli.out.print(f"unlinked {escape(done['record'])}: now {escape(done['canonical_id'])} ({escape(what)})",
                         highlight=False)


def _evidence(found: list[dict[str, Any]]) -> str:
    return "; ".join(str(e.get("detail") or e.get("rule")) for e in found)


def _proposals(
    status: Annotated[
        str, typer.Option("--status", help="proposed (open), rejected, superseded, applied, manual or unlinked.")
    ] = "proposed",
) -> None:
    """Links identity resolution proposes (name matches, conflicts, contradicted matches), strongest first."""
    from hub import cli as hubcli
    from hub import identity
    from hub.errors import HubError

    if status not in identity.STATUSES:
        raise HubError(f"--status must be one of {', '.join(identity.STATUSES)}, got {status!r}")
    with hubcli.session() as hub:
        hub.store.check_ready()
        with hub.store.connect() as conn:
            found = identity.proposals(conn, status=status)
    hubcli.emit(
        {"proposals": found},
        hubcli.table(
            f"link proposals, {status} ({len(found)})",
            ["id", "record", "name", "canonical id", "its name", "method", "confidence"],
            [[p["id"], p["record"], p["record_name"] or "-", p["canonical_id"], p["canonical_name"] or "-",
              p["method"], f"{p['confidence']:.2f}"] for p in found],
        ),
    )
    if hubcli.state.json:
        return
    for p in found:  # the evidence is sentences: below the table, where they need not wrap in a narrow column
        hubcli.out.print(f"[bold]{p['id']}[/bold]: {escape(_evidence(p['evidence']))}", highlight=False)
    if status == "proposed" and found:
        hubcli.err.print("decide with 'hub customers accept ID' or 'hub customers reject ID'", highlight=False)


def _accept(
    proposal_id: Annotated[int, typer.Argument(help="The proposal's id (from 'hub customers proposals').")],
    by: By = None,
) -> None:
    """Accept a link proposal: the record joins that canonical customer (audited)."""
    from hub import cli as hubcli
    from hub import identity

    with hubcli.session() as hub:
        hub.store.check_ready()
        done = identity.accept(hub.store, proposal_id, actor=hubcli._actor(by), master_source=hub.master_source())
    hubcli.emit({"accepted": done}, None)
    if not hubcli.state.json:
        hubcli.out.print(f"linked {escape(done['record'])} to {escape(done['canonical_id'])}", highlight=False)


def _reject(
    proposal_id: Annotated[int, typer.Argument(help="The proposal's id (from 'hub customers proposals').")],
    by: By = None,
) -> None:
    """Reject a link proposal: that pair is never proposed or linked automatically again."""
    from hub import cli as hubcli
    from hub import identity

    with hubcli.session() as hub:
        hub.store.check_ready()
        done = identity.reject(hub.store, proposal_id, actor=hubcli._actor(by))
    hubcli.emit({"rejected": done}, None)
    if not hubcli.state.json:
        hubcli.out.print(f"rejected linking {escape(done['record'])} to {escape(done['canonical_id'])}",
                         highlight=False)


def _resolve() -> None:
    """Run identity resolution now: link records by tax id, explicit links and IBAN; propose by name."""
    from hub import cli as hubcli

    with hubcli.session() as hub:
        stats = hub.resolve_identities()
    data = stats.as_dict()
    applied = ", ".join(f"{n} by {m}" for m, n in sorted(stats.applied.items())) or "none"
    hubcli.emit(
        data,
        hubcli.table(
            "identity resolution",
            ["considered", "linked", "proposed", "conflicts", "unmatched", "kept unlinked", "invalid ids"],
            [[stats.considered, f"{stats.linked} ({applied})", stats.proposed, stats.conflicts, stats.unmatched,
              stats.kept_unlinked, len(stats.invalid)]],
        ),
    )
    if hubcli.state.json:
        return
    for bad in stats.invalid:
        hubcli.err.print(
            f"invalid {escape(bad['field'])} {escape(bad['value'])} on {escape(bad['source'])}:"
            f"{escape(bad['external_id'])}: {escape(bad['problem'])} (not used)",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``hub customers`` (list, link, unlink, proposals, accept, reject, resolve) to the hub command line."""
    from hub import cli as hubcli

    group = typer.Typer(help="One canonical customer across sources: links, proposals, resolution.",
                        no_args_is_help=True)
    group.command("list")(hubcli.handled(_list))
    group.command("link")(hubcli.handled(_link))
    group.command("unlink")(hubcli.handled(_unlink))
    group.command("proposals")(hubcli.handled(_proposals))
    group.command("accept")(hubcli.handled(_accept))
    group.command("reject")(hubcli.handled(_reject))
    group.command("resolve")(hubcli.handled(_resolve))
    app.add_typer(group, name="customers")
