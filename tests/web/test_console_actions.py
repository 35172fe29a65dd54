"""What people do in the console (TestClient): confirm a suggestion in place, allocate by hand, log a call
with a promise, request and approve a limit with four eyes, switch the language; every write needs its
role and the session's CSRF token; lists search, sort and page."""

from __future__ import annotations

import datetime as dt
import re

from starlette.testclient import TestClient

from hub.app import Hub

from .conftest import login

HX = {"HX-Request": "true"}


def suggested(web_hub: Hub) -> dict:  # type: ignore[type-arg]
    return web_hub.matches.receipts(status="suggested", limit=1).items[0]


def test_confirming_a_suggestion_returns_its_row_matched_and_audits_the_real_user(
    client: TestClient, web_hub: Hub
) -> None:
    csrf = login(client, "fiona")
    row = suggested(web_hub)
    answer = client.post(f"/receipts/{row['key']}/confirm", headers={**HX, "X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    assert answer.text.lstrip().startswith(f'<tr id="receipt-{row["id"]}"')
    assert "confirmed" in answer.text and 'class="updated"' in answer.text
    assert web_hub.matches.receipts(status="suggested", limit=5).total == 0
    entries = web_hub.audit.page(actor="fiona", limit=5).items
    assert entries and entries[0]["object_id"]


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(client: TestClient, web_hub: Hub) -> None:
    login(client, "fiona")
    row = suggested(web_hub)
    answer = client.post(f"/receipts/{row['key']}/confirm", headers=HX)
    assert answer.status_code == 403
    assert answer.json()["error"] == "csrf"
    wrong = client.post(f"/receipts/{row['key']}/confirm", headers={**HX, "X-CSRF-Token": "not-it"})
    assert wrong.status_code == 403
    assert web_hub.matches.receipts(status="suggested", limit=5).total == 1


def test_a_role_that_may_not_confirm_is_refused(client: TestClient, web_hub: Hub) -> None:
    for user in ("sam", "vera", "carl"):
        client.cookies.clear()
        csrf = login(client, user)
        row = suggested(web_hub)
        answer = client.post(f"/receipts/{row['key']}/confirm", headers={**HX, "X-CSRF-Token": csrf})
        assert answer.status_code == 403, user
        assert 'hx-post="/receipts/' not in client.get("/receipts").text  # no button shown either


def test_allocating_by_hand_with_a_write_off_closes_the_invoices(client: TestClient, web_hub: Hub) -> None:
    csrf = login(client, "fiona")
    receipts = web_hub.matches.receipts(status="open", limit=50).items
    # an invoice the payment covers but for a euro of bank charges, which is written off
    rec, customer, target = next(
        (r, c["customer_id"], i)
        for r in receipts
        for c in web_hub.exposures.page(limit=100).items
        for i in web_hub.exposures.invoices(c["customer_id"], limit=100).items
        if i["currency"] == r["currency"] and 1 < i["remaining"] <= r["amount"] + 1
    )
    shown = client.get(f"/receipts/{rec['key']}", params={"customer": customer})
    assert shown.status_code == 200 and target["number"] in shown.text
    paid = target["remaining"] - 1
    rest = 1
    answer = client.post(
        f"/receipts/{rec['key']}/allocate",
        data={
            "csrf_token": csrf,
            "customer": customer,
            "invoice": target["number"],
            f"amount-{target['number']}": str(paid),
            f"write_off-{target['number']}": str(rest),
            "reason": "bank_fee",
        },
    )
    assert answer.status_code == 303, answer.text[:1000]
    after = web_hub.exposures.invoices(customer, q=target["number"], status="all").items[0]
    assert after["remaining"] == 0
    detail = client.get(answer.headers["location"])
    assert "write_off" in detail.text or "write-off" in detail.text


def _twin(web_hub: Hub, invoice: dict, receipt_key: str) -> None:  # type: ignore[type-arg]
    """Another ERP's invoice with the same number (another customer's); the receipt's payer unknown, so
    nothing says whose invoice it pays."""
    import sqlalchemy as sa

    from hub.store import schema, utcnow

    with web_hub.store.begin() as conn:
        row = conn.execute(sa.select(schema.invoice).where(schema.invoice.c.id == invoice["id"])).one()
        values = {k: v for k, v in row._mapping.items() if k != "id"}
        values.update(source="erp-other", external_id="twin", customer_external_id="SOMEONE-ELSE", synced_at=utcnow())
        conn.execute(schema.invoice.insert().values(**values))
        r = schema.receipt
        conn.execute(r.update().where(r.c.external_id == receipt_key).values(payer_name=None, payer_account=None))


def test_the_picker_names_the_invoice_with_its_source_so_a_number_another_erp_shares_is_allocated_right(
    client: TestClient, web_hub: Hub
) -> None:
    csrf = login(client, "fiona")
    receipts = web_hub.matches.receipts(status="open", limit=50).items
    rec, customer, target = next(
        (r, c["customer_id"], i)
        for r in receipts
        for c in web_hub.exposures.page(limit=100).items
        for i in web_hub.exposures.invoices(c["customer_id"], limit=100).items
        if i["currency"] == r["currency"] and 1 < i["remaining"] <= r["amount"]
    )
    _twin(web_hub, target, rec["key"])
    name = f"{target['source']}:{target['number']}"
    shown = client.get(f"/receipts/{rec['key']}", params={"customer": customer})
    assert f'value="{name}"' in shown.text
    plain = client.post(
        f"/receipts/{rec['key']}/allocate",
        data={"csrf_token": csrf, "invoice": target["number"], f"amount-{target['number']}": "1"},
    )
    assert plain.status_code == 409 and "erp-other" in plain.text and 'class="flash error"' in plain.text
    answer = client.post(
        f"/receipts/{rec['key']}/allocate",
        data={"csrf_token": csrf, "customer": customer, "invoice": name, f"amount-{name}": str(target["remaining"])},
    )
    assert answer.status_code == 303, answer.text[:1000]
    after = web_hub.exposures.invoices(customer, q=target["number"], status="all").items[0]
    assert after["remaining"] == 0
    twin = web_hub.exposures.invoices("erp-other:SOMEONE-ELSE", status="all").items[0]
    assert twin["remaining"] == target["remaining"]


def test_a_refused_allocation_is_explained_on_the_page(client: TestClient, web_hub: Hub) -> None:
    csrf = login(client, "fiona")
    rec = web_hub.matches.receipts(status="open", limit=1).items[0]
    answer = client.post(
        f"/receipts/{rec['key']}/allocate",
        data={"csrf_token": csrf, "invoice": "NO-SUCH-INVOICE", "amount-NO-SUCH-INVOICE": "1"},
    )
    assert answer.status_code == 409
    assert 'class="flash error"' in answer.text


def test_logging_a_call_with_a_promise_adds_the_ledger_row_in_place(client: TestClient, web_hub: Hub) -> None:
    csrf = login(client, "carl")
    step = web_hub.collections.due().steps[0]
    promised = (dt.date(2026, 12, 5) + dt.timedelta(days=7)).isoformat()
    answer = client.post(
        f"/collections/{step['customer_id']}/log",
        headers=HX,
        data={
            "csrf_token": csrf,
            "channel": "phone",
            "content": "Spoke to the controller: pays next Friday",
            "promise_date": promised,
            "promise_amount": "1000.00",
        },
    )
    assert answer.status_code == 200, answer.text
    assert "Spoke to the controller" in answer.text and 'class="updated"' in answer.text
    ledger = web_hub.collections.ledger(step["customer_id"])
    assert ledger[0]["author"] == "carl" and ledger[0]["promise"]["date"] == promised
    page = client.get(f"/customers/{step['customer_id']}")
    assert "Spoke to the controller" in page.text


def test_a_contact_without_text_is_refused_with_a_message_in_the_row(client: TestClient, web_hub: Hub) -> None:
    csrf = login(client, "sam")
    customer = web_hub.exposures.page(limit=1).items[0]["customer_id"]
    answer = client.post(
        f"/customers/{customer}/ledger", headers=HX, data={"csrf_token": csrf, "channel": "phone", "content": " "}
    )
    assert answer.status_code == 200
    assert 'class="flash error"' in answer.text
    assert web_hub.collections.ledger(customer) == [] or web_hub.collections.ledger(customer)[0]["author"] != "sam"


def test_a_big_limit_waits_for_a_second_credit_user_and_the_requester_cannot_approve_it(
    client: TestClient, web_hub: Hub
) -> None:
    csrf = login(client, "carl")
    customer = web_hub.exposures.page(sort="-open_base", limit=1).items[0]
    answer = client.post(
        "/limits/request",
        data={
            "csrf_token": csrf,
            "customer": customer["customer_id"],
            "amount": "5000000",
            "reason": "new framework deal",
        },
    )
    assert answer.status_code == 200, answer.text[:1000]
    assert "waits for a second credit user" in answer.text
    pending, _n = web_hub.limits.requests(status="pending")
    request_id = pending[0].id
    assert 'disabled title="You asked for it' in answer.text
    own = client.post(f"/limits/requests/{request_id}/decide", data={"csrf_token": csrf, "decision": "approve"})
    assert own.status_code == 409 and 'class="flash error"' in own.text
    assert web_hub.limits.requests(status="pending")[0][0].id == request_id

    client.cookies.clear()
    csrf2 = login(client, "cora")
    approved = client.post(f"/limits/requests/{request_id}/decide", data={"csrf_token": csrf2, "decision": "approve"})
    assert approved.status_code == 200 and "approved" in approved.text
    decided, _n = web_hub.limits.requests(customer_id=customer["customer_id"])
    assert decided[0].status == "approved" and decided[0].decided_by == "cora"


def test_switching_to_chinese_is_kept_as_the_users_setting(client: TestClient) -> None:
    csrf = login(client, "vera")
    answer = client.post("/language", data={"csrf_token": csrf, "locale": "zh_CN", "next": "/customers"})
    assert answer.status_code == 303 and answer.headers["location"] == "/customers"
    page = client.get("/customers")
    assert '<html lang="zh-Hans-CN">' in page.text
    assert "客户" in page.text
    refused = client.post("/language", data={"locale": "en", "next": "/"})
    assert refused.status_code == 403


def test_customers_are_searched_sorted_and_paged(client: TestClient, web_hub: Hub) -> None:
    login(client, "vera")
    everyone = web_hub.exposures.page(limit=500).total
    first = client.get("/customers", params={"size": 5, "sort": "customer_id"})
    ids = re.findall(r'href="/customers/([^"]+)"', first.text)
    assert len(ids) == 5 and ids == sorted(ids)
    assert f"1\u20135 of {everyone}" in first.text and 'rel="next"' in first.text
    second = client.get("/customers", params={"size": 5, "sort": "customer_id", "page": 2})
    ids2 = re.findall(r'href="/customers/([^"]+)"', second.text)
    assert ids2 and ids2[0] > ids[-1] and 'rel="prev"' in second.text
    backwards = client.get("/customers", params={"size": 5, "sort": "-customer_id"})
    assert re.findall(r'href="/customers/([^"]+)"', backwards.text)[0] > ids[-1]
    name = web_hub.exposures.page(limit=1).items[0]["name"]
    found = client.get("/customers", params={"q": name[:6].lower()})
    assert name in found.text
    nothing = client.get("/customers", params={"q": "no such customer anywhere"})
    assert "No customer matches." in nothing.text
    odd = client.get("/customers", params={"sort": "drop table", "page": "x", "size": "y"})
    assert odd.status_code == 200


def test_receipts_are_searched_within_their_tab(client: TestClient, web_hub: Hub) -> None:
    login(client, "vera")
    matched = web_hub.matches.receipts(status="matched", limit=2).items
    page = client.get("/receipts", params={"tab": "matched", "q": matched[0]["ref"]})
    assert matched[0]["ref"] in page.text and matched[1]["ref"] not in page.text
    assert 'aria-current="page">Matched' in page.text


def test_an_admin_sees_the_audit_log_and_can_search_it(client: TestClient, web_hub: Hub) -> None:
    login(client, "ada")
    page = client.get("/audit", params={"q": "test-setup"})
    assert page.status_code == 200 and "test-setup" in page.text
    connectors = client.get("/connectors")
    assert "Dead letters" in connectors.text and "Quarantine" in connectors.text


def test_only_an_admin_replays_dead_letters_from_the_connectors_page(client: TestClient) -> None:
    csrf = login(client, "fiona")
    assert client.post("/connectors/replay", data={"csrf_token": csrf}).status_code == 403
    client.cookies.clear()
    csrf = login(client, "ada")
    answer = client.post("/connectors/replay", data={"csrf_token": csrf})
    assert answer.status_code == 200 and 'class="flash ok"' in answer.text
    assert "Queued again: 0 dead letters" in answer.text


def test_a_limit_decision_without_a_choice_is_refused_and_decides_nothing(client: TestClient, web_hub: Hub) -> None:
    csrf = login(client, "carl")
    customer = web_hub.exposures.page(sort="-open_base", limit=1).items[0]
    client.post(
        "/limits/request",
        data={"csrf_token": csrf, "customer": customer["customer_id"], "amount": "5000000", "reason": "framework"},
    )
    request_id = web_hub.limits.requests(status="pending")[0][0].id
    client.cookies.clear()
    csrf2 = login(client, "cora")
    for data in ({"csrf_token": csrf2}, {"csrf_token": csrf2, "decision": "maybe"}):
        answer = client.post(f"/limits/requests/{request_id}/decide", data=data)
        assert answer.status_code == 422, answer.text[:500]
    assert web_hub.limits.requests(status="pending")[0][0].id == request_id
    proposals, _n = web_hub.limits.proposals(status="pending")
    assert proposals, "the sample book's risk run proposes limits"
    refused = client.post(f"/limits/proposals/{proposals[0].id}/decide", data={"csrf_token": csrf2})
    assert refused.status_code == 422
    assert proposals[0].id in {p.id for p in web_hub.limits.proposals(status="pending")[0]}
