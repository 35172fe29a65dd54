"""The REST API as a program and a person use it: lists, match actions, customers, limits, operations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.testclient import TestClient

from hub.app import Hub
from tests.web.conftest import bearer, first, login


def _get(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> Any:
    answer = client.get(path, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _audit(hub: Hub, **filters: Any) -> list[dict[str, Any]]:
    return hub.audit.page(limit=500, **filters).items


# -- receipts --------------------------------------------------------------------------------------------


def test_receipts_are_paged_filtered_searched_and_sorted(client: TestClient, web_hub: Hub) -> None:
    h = bearer(web_hub, "viewer")
    everything = _get(client, "/api/v1/receipts", h, limit=500)
    total = everything["total"]
    assert total == len(everything["items"]) > 10
    page1 = _get(client, "/api/v1/receipts", h, limit=5, offset=0)
    page2 = _get(client, "/api/v1/receipts", h, limit=5, offset=5)
    assert page1["total"] == page2["total"] == total
    assert not {r["id"] for r in page1["items"]} & {r["id"] for r in page2["items"]}
    matched = _get(client, "/api/v1/receipts", h, status="matched", limit=500)
    assert matched["items"] and all(r["match_status"] == "matched" for r in matched["items"])
    assert all(a["status"] in ("auto", "confirmed") for r in matched["items"] for a in r["allocations"])
    by_amount = _get(client, "/api/v1/receipts", h, sort="amount", limit=500)["items"]
    amounts = [Decimal(r["amount"]) for r in by_amount]
    assert amounts == sorted(amounts)
    payer = everything["items"][0]["payer_name"]
    found = _get(client, "/api/v1/receipts", h, q=payer.lower()[:8], limit=500)["items"]
    assert found and all(payer.lower()[:8] in (r["payer_name"] or "").lower() or r["remittance"] for r in found)


def test_a_bad_sort_or_limit_is_a_422_with_a_message(client: TestClient, web_hub: Hub) -> None:
    h = bearer(web_hub, "viewer")
    for params in ({"sort": "password"}, {"limit": 0}, {"limit": 501}, {"offset": -1}, {"status": "lost"}):
        answer = client.get("/api/v1/receipts", params=params, headers=h)
        assert answer.status_code == 422, params
        assert answer.json()["error"] == "invalid_request"


def test_finance_confirms_a_suggestion_and_the_customer_open_amount_changes(client: TestClient, web_hub: Hub) -> None:
    csrf = login(client, "fiona")
    receipt = client.get("/api/v1/receipts", params={"status": "suggested"}).json()["items"][0]
    best = receipt["allocations"][0]
    customer = best["customer_id"]
    before = client.get(f"/api/v1/customers/{customer}/invoices").json()
    invoice_before = first(before["items"], number=best["invoice"])
    answer = client.post(
        f"/api/v1/receipts/{receipt['ref']}/confirm", json={"note": "checked"}, headers={"X-CSRF-Token": csrf}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["action"] == "confirm"
    assert {c["status"] for c in answer.json()["changed"]} >= {"confirmed"}
    after = client.get("/api/v1/receipts", params={"status": "matched", "q": receipt["ref"]}).json()["items"]
    assert [r["ref"] for r in after] == [receipt["ref"]]
    invoices = client.get(f"/api/v1/customers/{customer}/invoices", params={"status": "all"}).json()["items"]
    invoice_after = first(invoices, number=best["invoice"])
    assert Decimal(invoice_after["remaining"]) == Decimal(invoice_before["remaining"]) - Decimal(best["amount"])
    entry = _audit(web_hub, action="match.confirm")[0]
    assert entry["actor"] == "fiona" and entry["details"]["note"] == "checked"


def test_finance_allocates_by_hand_with_a_write_off_and_its_reason(client: TestClient, web_hub: Hub) -> None:
    h = bearer(web_hub, "finance", name="desk")
    receipt = _get(client, "/api/v1/receipts", h, status="open", sort="-amount")["items"][0]
    customers = _get(client, "/api/v1/customers", h, limit=500)["items"]
    ccy = receipt["currency"]
    invoice = None
    for c in customers:
        if c["currency"] != ccy:
            continue
        for inv in _get(client, f"/api/v1/customers/{c['customer_id']}/invoices", h, limit=500)["items"]:
            if inv["currency"] == ccy and Decimal(inv["remaining"]) > Decimal("50"):
                invoice = inv
                break
        if invoice:
            break
    assert invoice is not None
    remaining = Decimal(invoice["remaining"])
    pay = min(Decimal(receipt["amount"]), remaining - Decimal("12.50"))
    body = {
        "lines": [{"invoice": invoice["number"], "amount": str(pay), "write_off": "12.50"}],
        "reason": "bank_fee",
        "note": "fee deducted by the correspondent bank",
    }
    missing_reason = client.post(
        f"/api/v1/receipts/{receipt['ref']}/allocate", json={**body, "reason": None}, headers=h
    )
    assert missing_reason.status_code == 409
    assert "reason" in missing_reason.json()["message"]
    answer = client.post(f"/api/v1/receipts/{receipt['ref']}/allocate", json=body, headers=h)
    assert answer.status_code == 200, answer.text
    kinds = sorted(c["kind"] for c in answer.json()["changed"] if c["status"] == "confirmed")
    assert kinds == ["payment", "write_off"]
    assert Decimal(answer.json()["unapplied"]) == Decimal(receipt["amount"]) - pay
    entry = _audit(web_hub, action="match.allocate")[0]
    assert entry["actor"] == "token:desk"
    assert entry["details"]["write_off_reason"] == "bank_fee"
    assert entry["details"]["lines"] == [{"invoice": invoice["number"], "amount": str(pay), "write_off": "12.50"}]


def test_an_allocation_over_the_open_amount_is_refused(client: TestClient, web_hub: Hub) -> None:
    h = bearer(web_hub, "finance")
    receipt = _get(client, "/api/v1/receipts", h, status="open")["items"][0]
    matched = _get(client, "/api/v1/receipts", h, status="matched")["items"][0]
    invoice = matched["allocations"][0]["invoice"]
    answer = client.post(
        f"/api/v1/receipts/{receipt['ref']}/allocate",
        json={"lines": [{"invoice": invoice, "amount": receipt["amount"]}]},
        headers=h,
    )
    assert answer.status_code == 409


def test_allocating_a_number_two_erps_share_is_refused_until_the_source_is_named(
    client: TestClient, web_hub: Hub
) -> None:
    import sqlalchemy as sa

    from hub.store import schema, utcnow

    h = bearer(web_hub, "finance")
    receipt = _get(client, "/api/v1/receipts", h, status="open")["items"][0]
    customers = _get(client, "/api/v1/customers", h, limit=500)["items"]
    invoice = next(
        inv
        for c in customers
        for inv in _get(client, f"/api/v1/customers/{c['customer_id']}/invoices", h, limit=500)["items"]
        if inv["currency"] == receipt["currency"] and Decimal(inv["remaining"]) >= 1
    )
    with web_hub.store.begin() as conn:
        row = conn.execute(sa.select(schema.invoice).where(schema.invoice.c.number == invoice["number"])).one()
        values = {k: v for k, v in row._mapping.items() if k != "id"}
        values.update(source="erp-other", external_id="twin", customer_external_id="SOMEONE-ELSE", synced_at=utcnow())
        conn.execute(schema.invoice.insert().values(**values))
        r = schema.receipt  # a payer the hub does not know: nothing says whose invoice it pays
        conn.execute(
            r.update()
            .where(sa.func.coalesce(r.c.bank_ref, r.c.external_id) == receipt["ref"])
            .values(payer_name=None, payer_account=None)
        )
    url = f"/api/v1/receipts/{receipt['ref']}/allocate"
    plain = client.post(url, json={"lines": [{"invoice": invoice["number"], "amount": "1"}]}, headers=h)
    assert plain.status_code == 409
    assert "erp-other" in plain.json()["message"] and "SOURCE:NUMBER" in plain.json()["message"]
    named = f"{invoice['source']}:{invoice['number']}"
    answer = client.post(url, json={"lines": [{"invoice": named, "amount": "1"}]}, headers=h)
    assert answer.status_code == 200, answer.text
    assert [c["invoice"] for c in answer.json()["changed"] if c["status"] == "confirmed"] == [invoice["number"]]


def test_reject_and_unmatch_open_the_receipt_again(client: TestClient, web_hub: Hub) -> None:
    h = bearer(web_hub, "finance")
    suggested = _get(client, "/api/v1/receipts", h, status="suggested")["items"][0]
    assert client.post(f"/api/v1/receipts/{suggested['ref']}/reject", json={}, headers=h).status_code == 200
    matched = _get(client, "/api/v1/receipts", h, status="matched")["items"][0]
    assert (
        client.post(
            f"/api/v1/receipts/{matched['ref']}/unmatch", json={"note": "wrong customer"}, headers=h
        ).status_code
        == 200
    )
    open_refs = {r["ref"] for r in _get(client, "/api/v1/receipts", h, status="open", limit=500)["items"]}
    assert {suggested["ref"], matched["ref"]} <= open_refs
    again = client.post(f"/api/v1/receipts/{matched['ref']}/unmatch", json={}, headers=h)
    assert again.status_code == 409 and again.json()["error"] == "refused"


def test_explain_shows_every_proposal_with_its_evidence(client: TestClient, web_hub: Hub) -> None:
    h = bearer(web_hub, "viewer")
    suggested = _get(client, "/api/v1/receipts", h, status="suggested")["items"][0]
    explained = _get(client, f"/api/v1/receipts/{suggested['ref']}/explain", h)
    assert explained["receipt"]["ref"] == suggested["ref"]
    assert explained["allocations"] and all(a["reasons"] for a in explained["allocations"])
    assert client.get("/api/v1/receipts/NO-SUCH-REF/explain", headers=h).status_code == 409


# -- customers -------------------------------------------------------------------------------------------


def test_customers_are_listed_with_exposure_and_found_by_name(client: TestClient, web_hub: Hub) -> None:
    h = bearer(web_hub, "sales")
    page = _get(client, "/api/v1/customers", h, limit=10, sort="-overdue_amount")
    assert page["total"] >= 10 and len(page["items"]) == 10
    overdue = [Decimal(c["overdue_amount"]) for c in page["items"]]
    assert overdue == sorted(overdue, reverse=True)
    name = page["items"][0]["name"]
    found = _get(client, "/api/v1/customers", h, q=name.upper())["items"]
    assert page["items"][0]["customer_id"] in {c["customer_id"] for c in found}
    flagged = _get(client, "/api/v1/customers", h, flagged=True, limit=500)["items"]
    assert flagged and all(c["flags"] for c in flagged)


def test_a_customer_shows_exposure_score_breakdown_flags_and_bureau_view(client: TestClient, web_hub: Hub) -> None:
    h = bearer(web_hub, "viewer")
    flagged = _get(client, "/api/v1/customers", h, flagged=True)["items"][0]
    customer = _get(client, f"/api/v1/customers/{flagged['customer_id']}", h)
    assert customer["flags"] and all(f["reason"] for f in customer["flags"])
    assert customer["score_breakdown"] and customer["buckets"]
    assert set(customer["exposure"]["buckets"]) == set(customer["buckets"])
    with_bureau = [
        _get(client, f"/api/v1/customers/{c['customer_id']}", h)
        for c in _get(client, "/api/v1/customers", h, limit=500)["items"]
    ]
    assert any(c["bureaus"] for c in with_bureau)
    missing = client.get("/api/v1/customers/NOBODY", headers=h)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_sales_logs_a_call_with_a_promise_and_it_is_in_the_ledger(client: TestClient, web_hub: Hub) -> None:
    csrf = login(client, "sam")
    customer = client.get("/api/v1/customers", params={"sort": "-overdue_amount"}).json()["items"][0]
    cid = customer["customer_id"]
    body = {
        "channel": "phone",
        "content": "Spoke to accounts payable; payment next week.",
        "outcome": "promise",
        "promise": {"date": "2026-12-12", "amount": "1000.00", "currency": customer["currency"]},
    }
    answer = client.post(f"/api/v1/customers/{cid}/ledger", json=body, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 201, answer.text
    assert answer.json()["author"] == "sam" and answer.json()["promise"]["amount"] == "1000.00"
    ledger = client.get(f"/api/v1/customers/{cid}/ledger").json()
    assert ledger["items"][0]["id"] == answer.json()["id"]
    promises = client.get("/api/v1/promises", params={"customer_id": cid}).json()["items"]
    assert any(p["author"] == "sam" for p in promises)


def test_collection_steps_due_are_listed(client: TestClient, web_hub: Hub) -> None:
    due = _get(client, "/api/v1/collections/due", bearer(web_hub, "credit"), as_of="2026-12-31")
    assert due["assessed"] > 0 and due["steps"]


# -- limits ------------------------------------------------------------------------------------------------


def _limited(client: TestClient, h: dict[str, str]) -> dict[str, Any]:
    customers = _get(client, "/api/v1/customers", h, limit=500, sort="customer_id")["items"]
    return next(c for c in customers if c["credit_limit"] and Decimal(c["credit_limit"]) >= 10000)


def test_a_small_limit_change_applies_at_once_and_is_queued_for_the_sinks(client: TestClient, web_hub: Hub) -> None:
    h = bearer(web_hub, "credit", name="carl-script")
    customer = _limited(client, h)
    new = Decimal(customer["credit_limit"]) + 500
    answer = client.post(
        "/api/v1/limits/requests",
        json={"customer_id": customer["customer_id"], "amount": str(new), "reason": "seasonal orders"},
        headers=h,
    )
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["status"] == "applied" and made["four_eyes"] is False
    assert made["event_id"] == f"{customer['customer_id']}:credit_limit_request:{made['id']}"
    outbox = web_hub.deliveries.view(["pending"], limit=500).rows["pending"]
    assert any(row["event_id"] == made["event_id"] for row in outbox)


def test_a_large_limit_change_waits_for_a_second_credit_user(client: TestClient, web_hub: Hub) -> None:
    carl, cora = bearer(web_hub, "credit", name="carl"), bearer(web_hub, "credit", name="cora")
    customer = _limited(client, carl)
    new = Decimal(customer["credit_limit"]) * 3
    made = client.post(
        "/api/v1/limits/requests",
        json={"customer_id": customer["customer_id"], "amount": str(new), "reason": "group guarantee received"},
        headers=carl,
    ).json()
    assert made["status"] == "pending" and made["four_eyes"] is True
    pending = _get(client, "/api/v1/limits/requests", cora, status="pending")["items"]
    assert [r["id"] for r in pending] == [made["id"]]
    twice = client.post(
        "/api/v1/limits/requests",
        json={"customer_id": customer["customer_id"], "amount": "1", "reason": "again"},
        headers=carl,
    )
    assert twice.status_code == 400
    approved = client.post(
        f"/api/v1/limits/requests/{made['id']}/approve", json={"note": "seen the guarantee"}, headers=cora
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == "token:cora"
    actions = {(e["actor"], e["action"]) for e in _audit(web_hub, object_type="credit_limit_request")}
    assert {
        ("token:carl", "credit_limit.request"),
        ("token:cora", "credit_limit.request_approved"),
        ("token:cora", "credit_limit.apply"),
    } <= actions


def test_the_requester_withdraws_and_another_user_rejects(client: TestClient, web_hub: Hub) -> None:
    carl, cora = bearer(web_hub, "credit", name="carl"), bearer(web_hub, "credit", name="cora")
    customers = _get(client, "/api/v1/customers", carl, limit=500, sort="customer_id")["items"]
    one, two = [c for c in customers if c["credit_limit"]][:2]
    ids = []
    for c in (one, two):
        body = {"customer_id": c["customer_id"], "amount": str(Decimal(c["credit_limit"]) * 2), "reason": "growth"}
        ids.append(client.post("/api/v1/limits/requests", json=body, headers=carl).json()["id"])
    withdrawn = client.post(f"/api/v1/limits/requests/{ids[0]}/reject", json={}, headers=carl).json()
    rejected = client.post(f"/api/v1/limits/requests/{ids[1]}/reject", json={"note": "no"}, headers=cora).json()
    assert (withdrawn["status"], rejected["status"]) == ("withdrawn", "rejected")
    again = client.post(f"/api/v1/limits/requests/{ids[1]}/approve", json={}, headers=cora)
    assert again.status_code == 400
    assert client.post("/api/v1/limits/requests/999999/approve", json={}, headers=cora).status_code == 404


def test_credit_approves_a_proposal_of_the_risk_run(client: TestClient, web_hub: Hub) -> None:
    csrf = login(client, "cora")
    pending = client.get("/api/v1/limits/proposals", params={"status": "pending"}).json()["items"]
    assert pending
    proposal = pending[0]
    shown = client.get(f"/api/v1/limits/proposals/{proposal['id']}").json()
    assert shown["reasons"]
    answer = client.post(
        f"/api/v1/limits/proposals/{proposal['id']}/approve", json={"note": "fine"}, headers={"X-CSRF-Token": csrf}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["proposal"]["decided_by"] == "cora"
    assert answer.json()["event_id"]


# -- operations ----------------------------------------------------------------------------------------------


def test_connectors_show_their_last_sync_run(client: TestClient, web_hub: Hub) -> None:
    status = _get(client, "/api/v1/connectors", bearer(web_hub, "viewer"))
    erp = first(status, name="erp")
    assert erp["type"] == "csv" and erp["last_run"]["status"] == "ok"
    assert {c["name"] for c in status} >= {"erp", "bank", "bureau", "flags"}


def test_admin_reads_the_outbox_and_replays_dead_letters(client: TestClient, web_hub: Hub) -> None:
    h = bearer(web_hub, "admin")
    view = _get(client, "/api/v1/outbox", h, status=["pending"], limit=5)
    assert view["summary"] and len(view["rows"]["pending"]) <= 5
    answer = client.post("/api/v1/outbox/replay", json={"sink": "flags"}, headers=h)
    assert answer.status_code == 200, answer.text
    assert answer.json()["stats"]["total"] == 0
    unknown = client.post("/api/v1/outbox/replay", json={"sink": "nowhere"}, headers=h)
    assert unknown.status_code == 400
    entry = _audit(web_hub, action="outbox.replay")
    assert entry and entry[0]["actor"] == "token:test-admin"


def test_the_audit_log_is_paged_and_filtered_by_actor(client: TestClient, web_hub: Hub) -> None:
    h = bearer(web_hub, "admin")
    page = _get(client, "/api/v1/audit", h, limit=3)
    assert page["total"] > 3 and len(page["items"]) == 3
    ids = [e["id"] for e in page["items"]]
    assert ids == sorted(ids, reverse=True)
    setup = _get(client, "/api/v1/audit", h, actor="test-setup", action="user.add", limit=100)
    assert setup["total"] == 7 and all(e["object_type"] == "user" for e in setup["items"])


def test_me_says_who_is_asking_and_in_which_language(client: TestClient) -> None:
    login(client, "lin")
    me = client.get("/api/v1/me", headers={"Accept-Language": "zh-CN"}).json()
    assert me["name"] == "lin" and sorted(me["roles"]) == ["credit", "finance"]
    assert me["locale"] == "zh_CN" and me["kind"] == "user"


def test_limit_proposals_and_promises_are_paged_with_their_totals(client: TestClient, web_hub: Hub) -> None:
    h = bearer(web_hub, "viewer")
    everything = _get(client, "/api/v1/limits/proposals", h, limit=500)
    assert everything["total"] == len(everything["items"]) > 3
    second = _get(client, "/api/v1/limits/proposals", h, limit=2, offset=2)
    assert second["total"] == everything["total"]
    assert [p["id"] for p in second["items"]] == [p["id"] for p in everything["items"][2:4]]
    pending = _get(client, "/api/v1/limits/proposals", h, status="pending", limit=500)
    assert pending["total"] == len(pending["items"]) and all(p["status"] == "pending" for p in pending["items"])
    promises = _get(client, "/api/v1/promises", h, limit=1)
    assert promises["total"] >= 1 and len(promises["items"]) == 1


def test_a_customers_open_invoices_are_read_through_the_open_invoice_index(client: TestClient, web_hub: Hub) -> None:
    """One customer's open invoices come from the partial index, not a scan of the book (which at a
    million invoices takes most of a second on SQLite)."""
    import sqlalchemy as sa

    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if "FROM invoice" in statement and "customer_external_id" in statement:
            statements.append((statement, parameters))

    headers = bearer(web_hub, "viewer")
    customer = first(client.get("/api/v1/customers", headers=headers).json()["items"])
    sa.event.listen(web_hub.store.engine, "before_cursor_execute", seen)
    try:
        answer = client.get(f"/api/v1/customers/{customer['customer_id']}/invoices", headers=headers)
    finally:
        sa.event.remove(web_hub.store.engine, "before_cursor_execute", seen)
    assert answer.status_code == 200 and answer.json()["items"]
    assert statements
    with web_hub.store.engine.connect() as conn:
        for statement, parameters in statements:
            plan = " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
            assert "USING INDEX ix_invoice_open_customer" in plan, plan
