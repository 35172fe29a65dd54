"""Templates: a folder of one's own overrides the shipped ones, custom ladder steps map to templates,
and the interest hook's lines are shown."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from hub.comms.render import InterestLine, OpenInvoice
from hub.errors import CommsError

from .conftest import Smtp, at, make_hub


def test_a_template_of_ones_own_wins_and_custom_steps_map_to_templates(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    own = tmp_path / "mine"
    own.mkdir()
    (own / "friendly_reminder.email.en.html").write_text(
        '{% extends "_layout.html" %}{% block subject %}Psst, {{ customer.name }}{% endblock %}'
        "{% block body %}<p>{% for i in invoices %}{{ i.number }} {{ i.open }} {% endfor %}</p>{% endblock %}",
        encoding="utf-8",
    )
    hub = make_hub(
        tmp_path, db_url, smtp.port, extra='templates_dir = "mine"\nsteps = { "call follow-up" = "final_notice" }'
    )
    mine = hub.comms.preview("C2", step="friendly reminder", now=at(15))
    assert mine["subject"] == "Psst, Alpha GmbH" and "INV-9" in mine["text"] and "€50.00" in mine["text"]
    # the letter channel and the other language still come from the shipped templates
    assert hub.comms.preview("C2", step="friendly_reminder", channel="letter", now=at(15))["subject"].startswith(
        "Friendly reminder"
    )
    assert hub.comms.preview("C2", step="call follow-up", now=at(15))["template"] == "final_notice"
    with pytest.raises(CommsError, match="no template for step 'call'"):
        hub.comms.preview("C2", step="call", now=at(15))


def test_interest_lines_from_the_hook_are_shown_with_their_total(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    assert "Interest" not in hub.comms.preview("C1", step="final_notice", language="en", now=at(15))["text"]

    def interest_for(customer_id: str, invoices: Sequence[OpenInvoice], as_of: dt.date) -> list[InterestLine]:
        return [InterestLine(i.number, i.currency, Decimal("12.34"), "8% over the base rate") for i in invoices]

    hub.comms.interest_for = interest_for
    found = hub.comms.preview("C1", step="final_notice", language="en", now=at(15))
    assert "Interest" in found["text"] and "€12.34" in found["text"] and "€24.68" in found["text"]
