"""Letters and statements as PDF (Chinese text extracted back), and the 'hub comms' / 'hub disputes' commands."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pypdf
import pytest

from hub.comms import render
from hub.errors import CommsError

from ..conftest import run_hub
from .conftest import Smtp, at, free_port, make_hub


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_a_chinese_lawyers_letter_pdf_contains_its_chinese_text(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    hub.comms.contact("C1", actor="ann", language="zh_CN", time_zone="Asia/Shanghai")
    row = hub.comms.send("C1", actor="legal", step="lawyer_letter", channel="letter", now=at(65))
    assert row["status"] == "sent" and row["attachment"].endswith(".pdf")
    _, _, pdf = hub.comms.message(row["message_id"])
    assert pdf is not None and pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "律师函" in text and "上海示例贸易有限公司" in text and "发票号" in text and "INV-1" in text
    (line,) = [x for x in hub.collections.ledger("C1") if x["external_id"].startswith("comms-")]
    assert line["channel"] == "lawyer_letter" and row["message_id"] in str(line["content"])


def test_a_statement_preview_renders_as_pdf(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    found = hub.comms.preview("C1", step="statement", language="zh_CN", channel="letter", now=at(3), pdf=True)
    assert "对账单" in pdf_text(found["pdf"]) and found["invoices"] == ["INV-1", "INV-2"]
    assert hub.comms.messages() == []  # a preview stores nothing


def test_the_commands_preview_send_deliver_and_disputes(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    make_hub(tmp_path, db, free_port()).close()  # nothing listens on that port
    run_hub(
        "comms",
        "contact",
        "C1",
        "--email",
        "ap@buyer.example",
        "--lang",
        "zh_CN",
        "--tz",
        "Asia/Shanghai",
        cwd=tmp_path,
    )
    run_hub(
        "comms", "preview", "C1", "--channel", "letter", "--out", "letter.pdf", "--at", at(15).isoformat(), cwd=tmp_path
    )
    assert "友情提醒" in pdf_text((tmp_path / "letter.pdf").read_bytes())
    sent = run_hub("--json", "comms", "send", "C1", "--at", at(15).isoformat(), "--by", "ann", cwd=tmp_path)
    message = json.loads(sent.stdout)["message"]
    assert message["status"] == "pending"
    down = run_hub("comms", "deliver", "--at", at(15).isoformat(), cwd=tmp_path, check=False)
    assert down.returncode != 0 and down.stderr.strip().splitlines()[-1].startswith("error: SMTP server unreachable")
    night = run_hub("comms", "send", "C1", "--at", at(15, hour=23).isoformat(), cwd=tmp_path, check=False)
    assert night.returncode == 3 and "QUIET_HOURS" in night.stderr
    opened = run_hub("--json", "disputes", "open", "C1", "--invoice", "INV-1", "--reason", "damaged", cwd=tmp_path)
    dispute = json.loads(opened.stdout)["dispute"]
    again = run_hub("disputes", "open", "C1", "--invoice", "INV-1", "--reason", "damaged", cwd=tmp_path, check=False)
    assert again.returncode == 1 and "already open" in again.stderr
    listed = json.loads(run_hub("--json", "disputes", "list", "--status", "open", cwd=tmp_path).stdout)
    assert [d["invoice"] for d in listed] == ["INV-1"]
    run_hub("disputes", "resolve", str(dispute["id"]), "--resolution", "credit note", cwd=tmp_path)
    messages = json.loads(run_hub("--json", "comms", "list", cwd=tmp_path).stdout)
    assert [m["status"] for m in messages] == ["failed"]
    resent = json.loads(
        run_hub("--json", "comms", "resend", message["message_id"], "--at", at(16).isoformat(), cwd=tmp_path).stdout
    )
    assert resent["message"]["message_id"] != message["message_id"]
    with sqlite3.connect(tmp_path / "hub.db") as conn:
        assert conn.execute("select count(*) from comms_message where resent_from is not null").fetchone() == (1,)


def test_a_chinese_letter_without_a_chinese_font_is_refused_not_printed_as_boxes(
    tmp_path: Path, db_url: str, smtp: Smtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    hub.comms.contact("C1", actor="ann", language="zh_CN", time_zone="Asia/Shanghai")
    monkeypatch.setattr(render, "_han_font_installed", lambda: False)
    with pytest.raises(CommsError, match="fonts-noto-cjk"):
        hub.comms.send("C1", actor="legal", step="lawyer_letter", channel="letter", now=at(65))
    assert hub.comms.messages(customer_id="C1") == []
    assert render.pdf("<p>Invoice INV-1</p>").startswith(b"%PDF")  # a letter in English still prints


def test_a_missing_pango_library_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as when its libraries cannot be loaded
    with pytest.raises(CommsError, match="libpango"):
        render.pdf("<p>INV-1</p>")
