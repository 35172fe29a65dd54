"""Identity resolution (hub/identity.py): each rule, proposals, manual control, the CLI and the whole flow."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import structlog
from stdnum.exceptions import ValidationError as StdnumError
from typer.testing import CliRunner

from hub import identity
from hub.app import Hub
from hub.config import IdentityConfig, load_config
from hub.identity import IdentityError, IdentityStats, name_keys, tax_key
from hub.store import Store, schema, utcnow

from .conftest import ROOT, write_config

MASTER = "erp"


# -- helpers ------------------------------------------------------------------------------------------


def add(
    store: Store,
    source: str,
    ext: str,
    name: str,
    *,
    country: str | None = None,
    tax: list[tuple[str, str]] | None = None,
    ibans: list[str] | None = None,
    links: dict[str, str] | None = None,
    currency: str | None = None,
) -> None:
    """A customer record as the sync engine stores it (canonical id by the sync engine's rule)."""
    with store.begin() as conn:
        conn.execute(
            schema.customer.insert().values(
                source=source,
                external_id=ext,
                record_hash=0,
                synced_at=utcnow(),
                canonical_id=identity.own_id(source, ext, MASTER),
                legal_name=name,
                aliases=[],
                tax_ids=[{"scheme": s, "value": v} for s, v in (tax or [])],
                country=country,
                currency=currency,
                ibans=ibans or [],
                links=links or {},
            )
        )


def cid(store: Store, source: str, ext: str) -> str:
    c = schema.customer
    with store.connect() as conn:
        return str(
            conn.execute(sa.select(c.c.canonical_id).where(c.c.source == source, c.c.external_id == ext)).scalar_one()
        )


def resolve(store: Store, **settings: Any) -> IdentityStats:
    return identity.resolve(store, master_source=MASTER, settings=IdentityConfig(**settings))


def link_rows(store: Store, status: str | None = None) -> list[Any]:
    cl = schema.customer_link
    query = sa.select(cl).order_by(cl.c.id)
    if status is not None:
        query = query.where(cl.c.status == status)
    with store.connect() as conn:
        return list(conn.execute(query))


def audits(store: Store, action: str) -> list[Any]:
    a = schema.audit_log
    with store.connect() as conn:
        return list(conn.execute(sa.select(a).where(a.c.action == action).order_by(a.c.id)))


# -- normalisation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "value", "country", "key"),
    [
        ("vat", "DE136695976", None, "vat:DE136695976"),
        ("vat", "de 136 695 976", None, "vat:DE136695976"),
        ("vat", "136.695.976", "DE", "vat:DE136695976"),
        ("tax", "136695976", "DE", "vat:DE136695976"),
        ("tax", "EL 094259216", None, "vat:GR094259216"),
        ("vat", "094259216", "GR", "vat:GR094259216"),
        ("tax", "GB 980 7806 84", None, "vat:GB980780684"),
        ("tax", "980780684", "GB", "vat:GB980780684"),
        ("tax", "CHE-116.281.710 MWST", None, "vat:CH116281710"),
        ("tax", "91110000600037341L", "CN", "uscc:91110000600037341L"),
        ("uscc", "9111 0000 6000 3734 1L", None, "uscc:91110000600037341L"),
        ("ein", "04-2103594", None, "ein:042103594"),
        ("tax", "042103594", "US", "ein:042103594"),
        ("tax", "1234567", "GB", "gb_crn:01234567"),
        ("crn", "sc123456", None, "gb_crn:SC123456"),
    ],
)
def test_tax_ids_normalise_to_one_key(scheme: str, value: str, country: str | None, key: str) -> None:
    assert str(tax_key(scheme, value, country)) == key


@pytest.mark.parametrize(
    ("scheme", "value", "country"),
    [
        ("vat", "DE136695977", None),  # check digit wrong
        ("tax", "136695976", None),  # no prefix and no country
        ("uscc", "91110000600037341X", None),
        ("ein", "00-0000000", None),
        ("tax", "12345", "ZZ"),
        ("duns", "150483782", None),  # a scheme the resolver does not validate
    ],
)
def test_invalid_tax_ids_are_refused(scheme: str, value: str, country: str | None) -> None:
    with pytest.raises((ValueError, StdnumError)):
        tax_key(scheme, value, country)


def test_names_lose_case_accents_punctuation_and_legal_forms() -> None:
    assert "muller logistik" in name_keys("MÜLLER Logistik GmbH & Co. KG")
    assert "mueller logistik" in name_keys("Müller Logistik GmbH")
    assert name_keys("Harbor Pharma S.r.l.") == {"harbor pharma"}


# -- the rules --------------------------------------------------------------------------------------------


def test_vat_with_or_without_prefix_and_spaces_links_records(store: Store) -> None:
    add(store, MASTER, "E1", "Cedar Software GmbH", country="DE", tax=[("vat", "DE136695976")])
    add(store, "crm", "C1", "Cedar Software", country="DE", tax=[("tax", "136 695 976")])
    add(store, "bureau", "B1", "CEDAR SOFTWARE GMBH", tax=[("vat", "de136695976")])
    stats = resolve(store)
    assert stats.applied == {"tax_id": 2}
    assert cid(store, "crm", "C1") == cid(store, "bureau", "B1") == "E1"
    (row,) = [r for r in link_rows(store, "applied") if r.source == "crm"]
    assert (row.method, row.canonical_id, row.decided_by) == ("tax_id", "E1", identity.RESOLVER)
    assert row.evidence[0]["value"] == "vat:DE136695976"
    entries = audits(store, "identity.link")
    assert [(e.object_id, e.details["canonical_id"], e.details["previous"]) for e in entries] == [
        ("crm:C1", "E1", "crm:C1"),
        ("bureau:B1", "E1", "bureau:B1"),
    ]
    assert entries[0].details["evidence"][0]["rule"] == "tax_id"


def test_invalid_vat_is_reported_and_never_links(store: Store) -> None:
    add(store, MASTER, "E1", "Cedar Software GmbH", country="DE", tax=[("vat", "DE136695977")])
    add(store, "crm", "C1", "Aurora Retail", country="DE", tax=[("vat", "DE136695977")])
    stats = resolve(store)
    assert stats.linked == 0 and stats.unmatched == 1
    assert cid(store, "crm", "C1") == "crm:C1"
    assert [(x["source"], x["external_id"], x["field"]) for x in stats.invalid] == [("crm", "C1", "tax_ids")]
    assert "checksum" in stats.invalid[0]["problem"]


def test_uscc_links_a_chinese_company(store: Store) -> None:
    add(store, MASTER, "E7", "上海某某贸易有限公司", country="CN", tax=[("tax", "91110000600037341L")])
    add(store, "tianyancha", "T1", "Shanghai Trading Co., Ltd.", tax=[("uscc", "9111 0000 6000 3734 1L")])
    assert resolve(store).applied == {"tax_id": 1}
    assert cid(store, "tianyancha", "T1") == "E7"


def test_shared_iban_links_and_invalid_iban_is_reported(store: Store) -> None:
    add(store, MASTER, "E1", "Harbor Pharma S.r.l.", country="IT", ibans=["DE89 3704 0044 0532 0130 00"])
    add(store, "crm", "C1", "Porto Farmaceutici", ibans=["de89370400440532013000"])
    add(store, "crm", "C2", "Other", ibans=["DE89370400440532013001"])
    stats = resolve(store)
    assert stats.applied == {"iban": 1}
    assert cid(store, "crm", "C1") == "E1"
    assert cid(store, "crm", "C2") == "crm:C2"
    assert [(x["external_id"], x["field"]) for x in stats.invalid] == [("C2", "ibans")]


def test_record_that_names_the_master_id_in_its_links_is_linked(store: Store) -> None:
    add(store, MASTER, "E1", "Falcon Paper Ltd")
    add(store, "crm", "C1", "Falcon (UK)", links={"erp": "E1"})
    assert resolve(store).applied == {"external_link": 1}
    assert cid(store, "crm", "C1") == "E1"


def test_master_record_that_names_the_record_in_its_links_is_linked(store: Store) -> None:
    add(store, MASTER, "E1", "Falcon Paper Ltd", links={"crm": "C9"})
    add(store, "crm", "C9", "Falcon (UK)")
    assert resolve(store).applied == {"external_link": 1}
    assert cid(store, "crm", "C9") == "E1"
    (entry,) = audits(store, "identity.link")
    assert entry.details["evidence"][0]["direction"] == "master names record"


def test_link_to_a_record_already_resolved_reaches_its_master(store: Store) -> None:
    add(store, MASTER, "E1", "Falcon Paper Ltd", country="GB", tax=[("vat", "GB980780684")])
    add(store, "crm", "C1", "Falcon", tax=[("vat", "GB980780684")])
    resolve(store)
    add(store, "bureau", "B1", "Falcon Paper", links={"crm": "C1"})
    assert resolve(store).applied == {"external_link": 1}
    assert cid(store, "bureau", "B1") == "E1"


def test_name_similarity_is_proposed_not_applied(store: Store) -> None:
    add(store, MASTER, "E1", "Müller Logistik GmbH", country="DE")
    add(store, "crm", "C1", "Mueller Logistik AG", country="DE")
    stats = resolve(store)
    assert stats.linked == 0 and stats.proposed == 1
    assert cid(store, "crm", "C1") == "crm:C1"
    (row,) = link_rows(store, "proposed")
    assert (row.source, row.external_id, row.canonical_id, row.method) == ("crm", "C1", "E1", "name")
    assert row.confidence >= 0.88
    assert audits(store, "identity.link") == []


def test_blocking_keeps_different_countries_apart(store: Store) -> None:
    add(store, MASTER, "E1", "Acme Trading GmbH", country="DE")
    add(store, "crm", "FR1", "Acme Trading SARL", country="FR")
    add(store, "crm", "DE1", "ACME Trading", country="DE")
    add(store, "crm", "XX1", "Acme Trading")  # no country: compared with every country
    resolve(store)
    assert sorted(r.external_id for r in link_rows(store, "proposed")) == ["DE1", "XX1"]


def test_names_below_the_threshold_are_not_proposed(store: Store) -> None:
    add(store, MASTER, "E1", "Acme Trading GmbH", country="DE")
    add(store, "crm", "C1", "Acme Logistics", country="DE")
    assert resolve(store).unmatched == 1
    assert link_rows(store) == []


def test_two_master_candidates_make_proposals_listing_both(store: Store) -> None:
    add(store, MASTER, "E1", "Monarch Retail B.V.", country="NL", tax=[("vat", "DE136695976")])
    add(store, MASTER, "E2", "Monarch Retail Holding", country="NL", ibans=["DE89370400440532013000"])
    add(store, "crm", "C1", "Monarch", tax=[("vat", "DE136695976")], ibans=["DE89370400440532013000"])
    stats = resolve(store)
    assert stats.linked == 0 and stats.conflicts == 1
    assert cid(store, "crm", "C1") == "crm:C1"
    rows = link_rows(store, "proposed")
    assert sorted((r.canonical_id, r.method) for r in rows) == [("E1", "tax_id"), ("E2", "iban")]
    for r in rows:
        assert {"rule": "conflict", "candidates": ["E1", "E2"]}.items() <= r.evidence[-1].items()


def test_duplicate_masters_with_the_same_vat_are_a_conflict(store: Store) -> None:
    add(store, MASTER, "E1", "Wonka Construction", country="IT", tax=[("vat", "IT00743110157")])
    add(store, MASTER, "E2", "Wonka Construction S.p.A.", country="IT", tax=[("vat", "00743110157")])
    add(store, "crm", "C1", "Wonka", country="IT", tax=[("vat", "IT 00743110157")])
    assert resolve(store).conflicts == 1
    assert sorted(r.canonical_id for r in link_rows(store, "proposed")) == ["E1", "E2"]


def test_iban_match_contradicted_by_different_vat_is_only_proposed(store: Store) -> None:
    add(
        store,
        MASTER,
        "E1",
        "Umbrella Paper GmbH",
        country="DE",
        tax=[("vat", "DE136695976")],
        ibans=["DE89370400440532013000"],
    )
    add(
        store,
        "crm",
        "C1",
        "Umbrella Paper Trading",
        country="FR",
        tax=[("vat", "FR40303265045")],
        ibans=["DE89370400440532013000"],
    )
    stats = resolve(store)
    assert stats.linked == 0
    (row,) = link_rows(store, "proposed")
    assert row.method == "iban" and row.evidence[-1]["rule"] == "contradiction"


def test_auto_link_setting_turns_a_rule_into_proposals(store: Store) -> None:
    add(store, MASTER, "E1", "Harbor Pharma", ibans=["DE89370400440532013000"])
    add(store, "crm", "C1", "Porto", ibans=["DE89370400440532013000"])
    stats = resolve(store, auto_link=["tax_id", "external_link"])
    assert stats.linked == 0 and stats.proposed == 1
    assert link_rows(store, "proposed")[0].method == "iban"


def test_resolution_run_twice_changes_nothing_more(store: Store) -> None:
    add(store, MASTER, "E1", "Cedar Software GmbH", country="DE", tax=[("vat", "DE136695976")])
    add(store, MASTER, "E2", "Müller Logistik GmbH", country="DE")
    add(store, "crm", "C1", "Cedar", country="DE", tax=[("vat", "136695976")])
    add(store, "crm", "C2", "Mueller Logistik", country="DE")
    first = resolve(store)
    assert (first.linked, first.proposed) == (1, 1)
    second = resolve(store)
    assert (second.considered, second.linked, second.proposed) == (1, 0, 1)
    assert len(link_rows(store)) == 2
    assert len(audits(store, "identity.link")) == 1


def test_no_master_source_means_nothing_to_do(store: Store) -> None:
    add(store, "crm", "C1", "Cedar")
    assert identity.resolve(store, master_source=None).considered == 0


# -- manual control and proposals -------------------------------------------------------------------------


def test_manual_link_and_unlink_are_audited(store: Store) -> None:
    add(store, MASTER, "E1", "Falcon Paper Ltd")
    add(store, "crm", "C1", "FPL")
    done = identity.link(store, "crm", "C1", "E1", actor="alice", master_source=MASTER, note="same company")
    assert done == {"record": "crm:C1", "canonical_id": "E1", "previous": "crm:C1"}
    assert cid(store, "crm", "C1") == "E1"
    (row,) = link_rows(store, "manual")
    assert row.decided_by == "alice"
    back = identity.unlink(store, "crm", "C1", actor="bob", master_source=MASTER)
    assert back["canonical_id"] == "crm:C1" and back["was_linked"]
    assert cid(store, "crm", "C1") == "crm:C1"
    assert [r.status for r in link_rows(store)] == ["unlinked"]
    (linked,) = audits(store, "identity.link")
    (unlinked,) = audits(store, "identity.unlink")
    assert (linked.actor, linked.details["note"]) == ("alice", "same company")
    assert (unlinked.actor, unlinked.details["previous"]) == ("bob", "E1")


def test_manual_link_refuses_unknown_records_and_customers(store: Store) -> None:
    add(store, MASTER, "E1", "Falcon Paper Ltd")
    add(store, "crm", "C1", "FPL")
    with pytest.raises(IdentityError, match="no customer record crm:C2"):
        identity.link(store, "crm", "C2", "E1", actor="alice", master_source=MASTER)
    with pytest.raises(IdentityError, match="no customer has canonical id 'E9'"):
        identity.link(store, "crm", "C1", "E9", actor="alice", master_source=MASTER)
    with pytest.raises(IdentityError, match="SOURCE:EXTERNAL_ID"):
        identity.parse_record_ref("C1")
    assert identity.parse_record_ref("sf:001:xyz") == ("sf", "001:xyz")


def test_unlink_is_sticky_across_resolve_runs(store: Store) -> None:
    add(store, MASTER, "E1", "Cedar Software GmbH", country="DE", tax=[("vat", "DE136695976")])
    add(store, "crm", "C1", "Cedar Software", country="DE", tax=[("vat", "DE136695976")])
    assert resolve(store).linked == 1
    identity.unlink(store, "crm", "C1", actor="alice", master_source=MASTER)
    for _ in range(2):
        stats = resolve(store)
        assert (stats.linked, stats.considered, stats.kept_unlinked) == (0, 0, 1)
        assert cid(store, "crm", "C1") == "crm:C1"
    # A person may still link it by hand.
    identity.link(store, "crm", "C1", "E1", actor="alice", master_source=MASTER)
    assert cid(store, "crm", "C1") == "E1"


def test_accept_applies_a_proposal_and_reject_stops_it_for_good(store: Store) -> None:
    add(store, MASTER, "E1", "Müller Logistik GmbH", country="DE")
    add(store, MASTER, "E2", "Aurora Software SARL", country="FR")
    add(store, "crm", "C1", "Mueller Logistik", country="DE")
    add(store, "crm", "C2", "Aurora Software", country="FR")
    resolve(store)
    with store.connect() as conn:
        found = {p["record"]: p for p in identity.proposals(conn)}
    assert found["crm:C1"]["canonical_name"] == "Müller Logistik GmbH"
    assert found["crm:C1"]["record_name"] == "Mueller Logistik"
    identity.accept(store, found["crm:C1"]["id"], actor="alice", master_source=MASTER)
    identity.reject(store, found["crm:C2"]["id"], actor="bob")
    assert cid(store, "crm", "C1") == "E1"
    assert cid(store, "crm", "C2") == "crm:C2"
    statuses = {(r.external_id, r.status, r.decided_by) for r in link_rows(store)}
    assert statuses == {("C1", "applied", "alice"), ("C2", "rejected", "bob")}
    assert [e.actor for e in audits(store, "identity.link")] == ["alice"]
    assert [e.object_id for e in audits(store, "identity.reject")] == ["crm:C2"]
    again = resolve(store)
    assert (again.considered, again.proposed, again.unmatched) == (1, 0, 1)
    with pytest.raises(IdentityError, match="rejected, not an open proposal"):
        identity.accept(store, found["crm:C2"]["id"], actor="alice", master_source=MASTER)


def test_accepting_one_of_two_candidates_supersedes_the_other(store: Store) -> None:
    add(store, MASTER, "E1", "Wonka Construction", country="IT", tax=[("vat", "IT00743110157")])
    add(store, MASTER, "E2", "Wonka Construction S.p.A.", country="IT", tax=[("vat", "IT00743110157")])
    add(store, "crm", "C1", "Wonka", country="IT", tax=[("vat", "IT00743110157")])
    resolve(store)
    first = next(r for r in link_rows(store, "proposed") if r.canonical_id == "E2")
    identity.accept(store, first.id, actor="alice", master_source=MASTER)
    assert {(r.canonical_id, r.status) for r in link_rows(store)} == {("E1", "superseded"), ("E2", "applied")}


def test_linking_moves_aliases_promises_ledger_lines_and_pending_limits(store: Store) -> None:
    add(store, MASTER, "E1", "Cedar Software GmbH", country="DE", tax=[("vat", "DE136695976")])
    add(store, "crm", "C1", "Cedar Software", country="DE", tax=[("vat", "DE136695976")])
    now = utcnow()
    with store.begin() as conn:
        conn.execute(
            schema.customer_alias.insert(),
            [
                {
                    "customer_id": cid_,
                    "kind": "account",
                    "value": value,
                    "origin": "manual",
                    "created_by": "x",
                    "created_at": now,
                }
                for cid_, value in [
                    ("crm:C1", "DE89370400440532013000"),
                    ("crm:C1", "NL91ABNA0417164300"),
                    ("E1", "NL91ABNA0417164300"),
                ]
            ],
        )
        action = conn.execute(
            schema.collection_action.insert().values(
                source="hub",
                external_id="a1",
                record_hash=0,
                synced_at=now,
                customer_external_id="crm:C1",
                invoice_numbers=[],
                channel="phone",
                at=now,
                content="called",
                promise_date=dt.date(2026, 12, 1),
                promise_amount=100,
                promise_currency="EUR",
            )
        ).inserted_primary_key[0]
        conn.execute(
            schema.promise.insert().values(
                action_id=action,
                customer_id="crm:C1",
                made_on=dt.date(2026, 11, 1),
                promised_date=dt.date(2026, 12, 1),
                amount=100,
                currency="EUR",
                status="open",
                received=0,
                updated_at=now,
            )
        )
        conn.execute(
            schema.credit_limit_proposal.insert().values(
                customer_id="crm:C1",
                as_of=dt.date(2026, 11, 1),
                currency="EUR",
                recommended=5000,
                reasons=[],
                status="pending",
                created_at=now,
            )
        )
    resolve(store)
    with store.connect() as conn:
        alias = schema.customer_alias
        assert sorted(conn.execute(sa.select(alias.c.customer_id, alias.c.value)).all()) == [
            ("E1", "DE89370400440532013000"),
            ("E1", "NL91ABNA0417164300"),
        ]
        assert conn.execute(sa.select(schema.promise.c.customer_id)).scalar_one() == "E1"
        assert conn.execute(sa.select(schema.collection_action.c.customer_external_id)).scalar_one() == "E1"
        assert conn.execute(sa.select(schema.credit_limit_proposal.c.status)).scalar_one() == "superseded"
    (entry,) = audits(store, "identity.link")
    assert entry.details["repointed"] == {
        "customer_alias": 2,
        "promise": 1,
        "collection_action": 1,
        "credit_limit_proposal": 1,
    }


def test_records_linked_through_a_record_follow_it(store: Store) -> None:
    add(store, MASTER, "E1", "Cedar Software GmbH", country="DE", tax=[("vat", "DE136695976")])
    add(store, "crm", "C1", "Cedar Software", country="DE")
    add(store, "bureau", "B1", "Cedar Software GmbH")
    identity.link(store, "bureau", "B1", "crm:C1", actor="alice", master_source=MASTER)
    identity.link(store, "crm", "C1", "E1", actor="alice", master_source=MASTER)
    assert cid(store, "bureau", "B1") == cid(store, "crm", "C1") == "E1"


# -- command line and the whole flow -------------------------------------------------------------------

ERP_CUSTOMERS = """customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban
E1,Cedar Software GmbH,DE136695976,DE,EUR,1000.00,,DE89370400440532013000
E2,Falcon Paper Ltd,GB980780684,GB,GBP,5000.00,,
E3,Harbor Pharma S.r.l.,,IT,EUR,2000.00,,IT60X0542811101000000123456
E4,Müller Logistik GmbH,,DE,EUR,3000.00,,
E5,Quartz Systems AG,,CH,CHF,1000.00,,
"""
ERP_INVOICES = """invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number
I1,E1,2026-06-01,2026-07-01,EUR,5000.00,5000.00,
I2,E2,2026-10-01,2026-12-31,GBP,100.00,100.00,
I3,E3,2026-10-01,2026-12-31,EUR,100.00,100.00,
I4,E4,2026-10-01,2026-12-31,EUR,100.00,100.00,
I5,E5,2026-10-01,2026-12-31,CHF,100.00,100.00,
"""
# The same companies in a CRM, under its own ids and with slightly different names; one names its ERP id.
CRM_CUSTOMERS = """customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban,erp_id
0011A,CEDAR SOFTWARE,DE 136 695 976,DE,EUR,,,,
0011B,Falcon Paper Limited,980780684,GB,GBP,,,,
0011C,Harbor Pharma,,IT,EUR,,,it60 x054 2811 1010 0000 0123 456,
0011D,Mueller Logistik,,DE,EUR,,,,
0011E,Quarz Systeme,,CH,CHF,,,,E5
"""
CRM_MAPPING = (ROOT / "mappings" / "csv-customers.toml").read_text(encoding="utf-8") + (
    'links = { from = "erp_id", transform = ["key:erp"] }\n'
)
CRM_INVOICES = """invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number
CRM-1,0011A,2026-05-01,2026-06-01,EUR,700.00,700.00,
"""


@pytest.fixture
def two_sources(tmp_path: Path, db_url: str) -> Iterator[Path]:
    (tmp_path / "erp").mkdir()
    (tmp_path / "crm").mkdir()
    (tmp_path / "erp" / "customers.csv").write_text(ERP_CUSTOMERS, encoding="utf-8")
    (tmp_path / "erp" / "invoices.csv").write_text(ERP_INVOICES, encoding="utf-8")
    (tmp_path / "crm" / "customers.csv").write_text(CRM_CUSTOMERS, encoding="utf-8")
    (tmp_path / "crm" / "invoices.csv").write_text(CRM_INVOICES, encoding="utf-8")
    (tmp_path / "crm" / "customers.toml").write_text(CRM_MAPPING, encoding="utf-8")
    extra = (
        '[connectors.crm]\ntype = "csv"\ncustomers = "crm/customers.csv"\ninvoices = "crm/invoices.csv"\n'
        'mappings = { customers = "crm/customers.toml" }\n'
        '[identity]\nmaster = "erp"\n[sync]\nworkers = 1\n'
    )
    yield write_config(
        tmp_path, db_url, customers="erp/customers.csv", invoices="erp/invoices.csv", statements=None, extra=extra
    )


def _events(folder: Path) -> list[dict[str, Any]]:
    path = folder / "out" / "flags.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_two_sources_synced_resolved_and_assessed_give_events_with_both_links(two_sources: Path) -> None:
    folder = two_sources.parent
    hub = Hub(load_config(two_sources))
    try:
        hub.init()
        hub.sync()
        stats = hub.resolve_identities()
        assert stats.applied == {"tax_id": 2, "iban": 1, "external_link": 1}
        assert stats.proposed == 1  # Mueller Logistik: by name only
        risk = hub.risk(dt.date(2026, 11, 27))
        assert risk.customers == 6  # E1-E5 and the CRM record only proposed for E4
        hub.push()
    finally:
        hub.close()
    events = _events(folder)
    bands = {e["customer_id"]: e for e in events if e["kind"] == "band"}
    assert bands["E1"]["links"] == {"erp": "E1", "crm": "0011A"}
    assert bands["E2"]["links"] == {"erp": "E2", "crm": "0011B"}
    assert bands["E3"]["links"] == {"erp": "E3", "crm": "0011C"}
    assert bands["E5"]["links"] == {"erp": "E5", "crm": "0011E"}
    assert bands["E4"]["links"] == {"erp": "E4"}  # only proposed: still apart
    assert "crm:0011D" not in bands  # known only to the CRM, nothing to rate: unrated, no band pushed
    flags = {e["code"]: e for e in events if e["kind"] == "flag" and e["customer_id"] == "E1"}
    # The CRM's invoice counts for the merged customer: 5000 + 700 against a limit of 1000.
    assert flags["OVER_LIMIT"]["links"] == {"erp": "E1", "crm": "0011A"}
    assert not any(e["customer_id"].startswith("crm:") for e in events)


def test_flags_of_a_customer_merged_by_resolution_are_cleared_by_the_next_risk_run(two_sources: Path) -> None:
    folder = two_sources.parent
    hub = Hub(load_config(two_sources))
    try:
        hub.init()
        hub.sync()
        as_of = dt.date(2026, 11, 27)
        hub.risk(as_of)  # before resolution the CRM's invoice is its own customer's, flagged on its own
        hub.push()
        raised = {e["code"] for e in _events(folder) if e["customer_id"] == "crm:0011A" and e["kind"] == "flag"}
        assert "OVERDUE_90" in raised
        hub.resolve_identities()
        hub.risk(as_of)
        hub.push()
    finally:
        hub.close()
    cleared = [e for e in _events(folder) if e["customer_id"] == "crm:0011A" and e.get("action") == "cleared"]
    assert {e["code"] for e in cleared} == raised


@pytest.fixture
def cli() -> Iterator[Any]:
    from hub import cli as hubcli

    hubcli.register_core_commands()
    runner = CliRunner()
    # The commands configure logging onto the runner's captured stderr, closed after each call:
    # put the configuration back so later tests do not log into a closed file.
    saved = structlog.get_config()

    def invoke(config: Path, *args: str, code: int = 0) -> Any:
        result = runner.invoke(hubcli.app, ["--config", str(config), *args])
        assert result.exit_code == code, result.output
        return result

    yield invoke
    structlog.configure(**saved)


def test_customers_commands_resolve_list_decide_link_and_unlink(two_sources: Path, cli: Any) -> None:
    hub = Hub(load_config(two_sources))
    try:
        hub.init()
        hub.sync()
    finally:
        hub.close()
    before = json.loads(cli(two_sources, "--json", "customers", "list", "--unlinked").stdout)
    assert len(before["customers"]) == 5
    resolved = json.loads(cli(two_sources, "--json", "customers", "resolve").stdout)
    assert (resolved["linked"], resolved["proposed"]) == (4, 1)
    listed = json.loads(cli(two_sources, "--json", "customers", "list").stdout)["customers"]
    state = {(r["source"], r["external_id"]): (r["canonical_id"], r["state"], r["method"]) for r in listed}
    assert state[("crm", "0011B")] == ("E2", "applied", "tax_id")
    assert state[("crm", "0011D")] == ("crm:0011D", "own", None)
    assert state[("erp", "E4")] == ("E4", "master", None)
    (proposal,) = json.loads(cli(two_sources, "--json", "customers", "proposals").stdout)["proposals"]
    assert (proposal["record"], proposal["canonical_id"], proposal["method"]) == ("crm:0011D", "E4", "name")
    cli(two_sources, "customers", "accept", str(proposal["id"]), "--by", "alice")
    assert json.loads(cli(two_sources, "--json", "customers", "list", "--unlinked").stdout)["customers"] == []

    out = cli(two_sources, "customers", "unlink", "crm:0011D", "--by", "alice").stdout
    assert "unlinked crm:0011D: now crm:0011D (was E4)" in out
    again = json.loads(cli(two_sources, "--json", "customers", "resolve").stdout)
    assert (again["linked"], again["kept_unlinked"]) == (0, 1)
    cli(two_sources, "customers", "link", "crm:0011D", "E4", "--by", "alice")
    err = cli(two_sources, "customers", "link", "crm:nope", "E4", code=1)
    assert "no customer record crm:nope" in err.output
    err = cli(two_sources, "customers", "reject", "999", code=1)
    assert "no link proposal 999" in err.output
