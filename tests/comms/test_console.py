"""The console's communications page: preview in a frame, send (blocked ones say why), resend, disputes."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from hub.app import Hub

from ..web.conftest import login


def a_customer(hub: Hub) -> str:
    return str(hub.customers.records(limit=1)[0]["canonical_id"])


def test_the_communications_page_previews_sends_and_lists_disputes(client: TestClient, web_hub: Hub) -> None:
    customer = a_customer(web_hub)
    csrf = login(client, "carl")
    page = client.get(f"/customers/{customer}/comms")
    assert page.status_code == 200 and 'name="preview"' in page.text
    preview = client.get(f"/customers/{customer}/comms/preview", params={"step": "statement", "lang": "zh_CN"})
    assert preview.status_code == 200 and "对账单" in preview.text
    refused = client.get(f"/customers/{customer}/comms/preview", params={"step": "<script>x</script>"})
    assert refused.status_code == 422 and "<script>" not in refused.text and "&lt;script&gt;" in refused.text
    # no email address on record: the send is refused and the page says why
    sent = client.post(
        f"/customers/{customer}/comms/send", data={"step": "statement", "channel": "email", "csrf_token": csrf}
    )
    assert sent.status_code == 422 and "has no email address" in sent.text
    web_hub.comms.contact(customer, actor="test", email="ap@buyer.example", opt_out=["email"])
    blocked = client.post(
        f"/customers/{customer}/comms/send", data={"step": "statement", "channel": "email", "csrf_token": csrf}
    )
    assert blocked.status_code == 422 and "OPT_OUT" in blocked.text
    letter = client.post(
        f"/customers/{customer}/comms/send", data={"step": "statement", "channel": "letter", "csrf_token": csrf}
    )
    assert letter.status_code == 303 and letter.headers["location"].endswith("?done=1")
    history = client.get(f"/customers/{customer}/comms")
    assert re.search(r"statement of account</td><td>letter</td><td>sent", history.text)
    (message,) = web_hub.comms.messages(customer_id=customer)
    again = client.post(f"/comms/{message['id']}/resend", data={"csrf_token": csrf})
    assert again.status_code == 303 and len(web_hub.comms.messages(customer_id=customer)) == 2
    web_hub.disputes.open(customer, actor="test", reason="price")
    listed = client.get("/disputes")
    assert listed.status_code == 200 and customer in listed.text


def test_a_viewer_cannot_send(client: TestClient, web_hub: Hub) -> None:
    customer = a_customer(web_hub)
    csrf = login(client, "vera")
    page = client.get(f"/customers/{customer}/comms")
    assert page.status_code == 200 and "formaction=" not in page.text
    refused = client.post(f"/customers/{customer}/comms/send", data={"step": "statement", "csrf_token": csrf})
    assert refused.status_code == 403


def test_the_collections_page_sends_the_due_messages_and_says_what_became_of_each(
    client: TestClient, web_hub: Hub
) -> None:
    csrf = login(client, "cora")
    page = client.get("/collections")
    assert "Send the reminders and letters due" in page.text
    preview = client.post("/collections/send-due", data={"csrf_token": csrf, "dry_run": "1"})
    assert preview.status_code == 200 and "A preview: nothing was queued." in preview.text
    assert web_hub.comms.messages() == []
    client.post("/language", data={"csrf_token": csrf, "locale": "zh_CN", "next": "/collections"})
    sent = client.post("/collections/send-due", data={"csrf_token": csrf, "dry_run": "0"})
    assert sent.status_code == 200 and "到期步骤的消息" in sent.text
    # the sample book's customers have no collection email yet: each email step says so, in Chinese
    assert "留待专人处理" in sent.text and "电子邮件" in sent.text
    refused = client.post("/collections/send-due", data={"dry_run": "0"})
    assert refused.status_code == 403
