"""A real Tryton 8.2 server for the connector tests: built, seeded and cached on first use.

Two halves share this file:

- imported by the tests (the hub's Python): :func:`tryton_home` builds a separate virtualenv with
  trytond 8.2, proteus and the accounting modules under ``~/.cache/receivables-hub/`` (keyed by the
  requirements and the Python version), and a seeded SQLite database next to it (keyed by this
  file's content, so a change to the seed data reseeds); :class:`TrytonServer` copies that
  database into a temporary folder, starts ``trytond`` on a free loopback port and stops it.
- run as a script by that virtualenv's Python (``python tryton_server.py seed|proteus ...``): the
  seeding itself, and the data changes the tests make while the server runs, through ``proteus``
  on the SQLite file, as a Tryton user's script would.

Only the first run pays for the venv (about 20 s) and the seed (about 60 s); later runs copy a file.
Nothing here imports the hub or pytest at module level, so the script half runs in the Tryton venv.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

SERIES = "8.2"
REQUIREMENTS = [
    f"trytond=={SERIES}.*",
    f"proteus=={SERIES}.*",
    f"trytond-account-invoice=={SERIES}.*",
    f"trytond-account-credit-limit=={SERIES}.*",
    f"trytond-account-dunning=={SERIES}.*",
    f"trytond-account-statement=={SERIES}.*",
]
MODULES = ["account_invoice", "account_credit_limit", "account_dunning", "account_statement"]
DATABASE = "hubtest"
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "Hub-test-admin-8"
#: The user the connector logs in as: only the groups docs/connectors/tryton.md asks for.
HUB_LOGIN = "hub"
HUB_PASSWORD = "Hub-connector-8"
HUB_GROUPS = ("party.group_party_admin", "account.group_account", "account_credit_limit.group_credit_limit")
CACHE_ROOT = Path(os.environ.get("HUB_TEST_CACHE", Path.home() / ".cache" / "receivables-hub"))

#: Every seeded invoice falls in this fiscal year; the tests score as of AS_OF.
FISCAL_YEAR_DAY = dt.date(2025, 6, 15)
AS_OF = dt.date(2025, 6, 30)
PAYMENT_TERM_DAYS = 30
COMPANY_NAME = "Hub Test Company SA"
COMPANY_CURRENCY = "EUR"


@dataclass(frozen=True)
class SeedCustomer:
    key: str
    name: str
    identifier: tuple[str, str]  # Tryton identifier type (8.2 calls a USCC "cn_vat"), code
    country: tuple[str, str]  # ISO code, name
    credit_limit: Decimal | None


@dataclass(frozen=True)
class SeedInvoice:
    key: str
    customer: str
    invoice_date: dt.date
    amount: Decimal
    reference: str | None = None
    currency: str = COMPANY_CURRENCY
    payments: tuple[tuple[dt.date, Decimal], ...] = ()
    post: bool = True
    cancel: bool = False

    @property
    def due_date(self) -> dt.date:
        return self.invoice_date + dt.timedelta(days=PAYMENT_TERM_DAYS)

    @property
    def paid(self) -> Decimal:
        return sum((amount for _, amount in self.payments), Decimal(0))

    @property
    def state(self) -> str:
        if not self.post:
            return "draft"
        if self.cancel:
            return "cancelled"
        return "paid" if self.paid == self.amount else "posted"


CUSTOMERS = [
    SeedCustomer("acme", "Acme Industries NV", ("eu_vat", "BE0897290877"), ("BE", "Belgium"), Decimal("10000")),
    SeedCustomer("beta", "Beta Trading GmbH", ("eu_vat", "DE136695976"), ("DE", "Germany"), Decimal("50000")),
    SeedCustomer("gamma", "Gamma Retail SARL", ("eu_vat", "FR40303265045"), ("FR", "France"), None),
    SeedCustomer("delta", "Delta Services BV", ("eu_vat", "NL004495445B01"), ("NL", "Netherlands"), Decimal("5000")),
    SeedCustomer(
        "sino", "Sino Components Co., Ltd.", ("cn_vat", "91110000600037341L"), ("CN", "China"), Decimal("20000")
    ),
]

INVOICES = [
    # Acme: 13,000 open against a 10,000 limit, the oldest 91 days past due on AS_OF.
    SeedInvoice("acme-1", "acme", dt.date(2025, 3, 1), Decimal("6000.00"), "PO-A-100"),
    SeedInvoice("acme-2", "acme", dt.date(2025, 5, 15), Decimal("7000.00"), "PO-A-101"),
    # Beta: partly paid, 60 days past due; and one not yet due.
    SeedInvoice(
        "beta-1",
        "beta",
        dt.date(2025, 4, 1),
        Decimal("20000.00"),
        "PO-B-7",
        payments=((dt.date(2025, 5, 10), Decimal("8000.00")),),
    ),
    SeedInvoice("beta-2", "beta", dt.date(2025, 6, 10), Decimal("5000.00")),
    # Gamma: one paid in full, one open and not due.
    SeedInvoice(
        "gamma-1",
        "gamma",
        dt.date(2025, 5, 20),
        Decimal("3000.00"),
        payments=((dt.date(2025, 6, 15), Decimal("3000.00")),),
    ),
    SeedInvoice("gamma-2", "gamma", dt.date(2025, 6, 1), Decimal("1500.00"), "PO-G-1"),
    # Delta: a posted invoice cancelled later, an open one, and a draft the source must not see.
    SeedInvoice("delta-0", "delta", dt.date(2025, 5, 2), Decimal("900.00"), cancel=True),
    SeedInvoice("delta-1", "delta", dt.date(2025, 6, 20), Decimal("2000.00")),
    SeedInvoice("delta-draft", "delta", dt.date(2025, 6, 25), Decimal("750.00"), post=False),
    # Sino: invoiced in US dollars.
    SeedInvoice("sino-1", "sino", dt.date(2025, 2, 10), Decimal("4400.00"), "PO-S-9", currency="USD"),
]


# -- test side: venv, seeded template, server ------------------------------------------------------


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _run(cmd: list[str], *, env: dict[str, str] | None = None, timeout: float = 900, what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")


@dataclass(frozen=True)
class TrytonHome:
    """The cached virtualenv and seeded database template."""

    venv: Path
    template: Path  # the seeded SQLite file
    seed: dict[str, Any]  # ids and numbers Tryton gave the seeded records (see ``seed`` below)

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def write_config(self, folder: Path, port: int) -> Path:
        conf = folder / "trytond.conf"
        conf.write_text(
            "[database]\n"
            "uri = sqlite://\n"
            f"path = {folder}\n"
            "language = en\n"
            "[web]\n"
            f"listen = 127.0.0.1:{port}\n"
            "[session]\n"
            "max_attempt = 50\n"
            "[password]\n"
            "length = 8\n",
            encoding="utf-8",
        )
        return conf

    def proteus(self, folder: Path, action: str, **args: Any) -> Any:
        """Change data in the database under ``folder`` through proteus (see ``proteus_action``)."""
        conf = folder / "trytond.conf"
        proc = subprocess.run(
            [str(self.python), __file__, "proteus", str(conf), DATABASE, action, json.dumps(args, default=str)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"proteus {action} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])


def tryton_home() -> TrytonHome:
    """Build (once) the Tryton venv and the seeded database template; return where they are."""
    pyver = f"{sys.version_info.major}.{sys.version_info.minor}"
    venv = CACHE_ROOT / f"tryton-{SERIES}-py{pyver}-{_digest(*REQUIREMENTS)}" / "venv"
    with _locked(venv.parent / ".lock"):
        marker = venv / ".complete"
        if not marker.exists():
            shutil.rmtree(venv, ignore_errors=True)
            _run([sys.executable, "-m", "venv", str(venv)], what="creating the Tryton venv")
            _run(
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
                what="installing trytond " + SERIES,
            )
            marker.write_text(" ".join(REQUIREMENTS), encoding="utf-8")
        seeded = venv.parent / f"db-{_digest(Path(__file__).read_text(encoding='utf-8'))}"
        if not (seeded / "seed.json").exists():
            _build_template(venv, seeded)
    template = seeded / f"{DATABASE}.sqlite"
    return TrytonHome(venv, template, json.loads((seeded / "seed.json").read_text(encoding="utf-8")))


def _build_template(venv: Path, target: Path) -> None:
    for old in target.parent.glob("db-*"):
        shutil.rmtree(old, ignore_errors=True)  # seeds of earlier versions of this file
    with tempfile.TemporaryDirectory(prefix="tryton-seed-") as tmp:
        work = Path(tmp)
        home = TrytonHome(venv, work / f"{DATABASE}.sqlite", {})
        conf = home.write_config(work, 0)
        (work / f"{DATABASE}.sqlite").touch()
        (work / "pass").write_text(ADMIN_PASSWORD + "\n", encoding="utf-8")
        _run(
            [
                str(venv / "bin" / "trytond-admin"),
                "-c",
                str(conf),
                "-d",
                DATABASE,
                "--email",
                "admin@example.com",
                "-u",
                *MODULES,
                "--activate-dependencies",
            ],
            env={"TRYTONPASSFILE": str(work / "pass")},
            what="trytond-admin (creating the database)",
        )
        _run([str(home.python), __file__, "seed", str(conf), DATABASE, str(work / "seed.json")], what="seeding")
        staging = target.with_name(target.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        shutil.copy2(work / f"{DATABASE}.sqlite", staging / f"{DATABASE}.sqlite")
        shutil.copy2(work / "seed.json", staging / "seed.json")
        staging.rename(target)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TrytonServer:
    """``trytond`` serving a private copy of the seeded database on 127.0.0.1:``port``."""

    def __init__(self, home: TrytonHome, folder: Path) -> None:
        self.home = home
        self.folder = folder
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(home.template, folder / f"{DATABASE}.sqlite")
        self.conf = home.write_config(folder, self.port)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "trytond.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def rpc_url(self) -> str:
        return f"{self.url}{DATABASE}/rpc/"

    def start(self, timeout: float = 60) -> None:
        assert self.process is None, "already running"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.home.venv / "bin" / "trytond"), "-c", str(self.conf), "-d", DATABASE],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.folder,  # never the repository: a stray file there must not matter
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"trytond exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            if self.answers():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"trytond did not answer within {timeout} s:\n{self.log.read_text()[-3000:]}")

    def answers(self) -> bool:
        body = json.dumps({"id": 0, "method": "common.server.version", "params": []}).encode()
        request = urllib.request.Request(
            f"{self.url}rpc/", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return bool(json.loads(response.read()).get("result", "").startswith(SERIES))
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        self.process = None

    def proteus(self, action: str, **args: Any) -> Any:
        return self.home.proteus(self.folder, action, **args)


class AdminRpc:
    """A bare JSON-RPC client logged in as the Tryton admin, to read back what the sink wrote.

    Deliberately independent of the connector under test (urllib, its own Decimal/date decoding).
    """

    def __init__(self, server: TrytonServer) -> None:
        self.server = server
        self.auth = ""
        user_id, session = self._post("common.db.login", [ADMIN_LOGIN, {"password": ADMIN_PASSWORD}, "en"])[:2]
        import base64

        token = base64.b64encode(f"{ADMIN_LOGIN}:{user_id}:{session}".encode()).decode()
        self.auth = f"Session {token}"
        self.context = self._post("model.res.user.get_preferences", [True, {}])

    def _post(self, method: str, params: list[Any]) -> Any:
        body = json.dumps({"id": 1, "method": method, "params": params}, default=_encode).encode()
        headers = {"Content-Type": "application/json"}
        if self.auth:
            headers["Authorization"] = self.auth
        request = urllib.request.Request(self.server.rpc_url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            data = json.loads(response.read(), object_hook=_decode)
        if "error" in data:
            raise RuntimeError(f"{method}: {data['error']}")
        return data["result"]

    def call(self, model: str, method: str, *args: Any) -> Any:
        return self._post(f"model.{model}.{method}", [*args, self.context])

    def party_categories(self, party_id: int) -> set[str]:
        (party,) = self.call("party.party", "read", [party_id], ["categories"])
        if not party["categories"]:
            return set()
        return {c["name"] for c in self.call("party.category", "read", party["categories"], ["name"])}

    def credit_limit(self, party_id: int) -> Decimal | None:
        (party,) = self.call("party.party", "read", [party_id], ["credit_limit_amount"])
        value = party["credit_limit_amount"]
        return None if value is None else Decimal(value)


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    raise TypeError(f"cannot encode {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "datetime":
        return dt.datetime(
            obj["year"], obj["month"], obj["day"], obj["hour"], obj["minute"], obj["second"], obj.get("microsecond", 0)
        )
    return obj


# -- script side: runs inside the Tryton venv -------------------------------------------------------


def _connect(conf: str, database: str) -> Any:
    from proteus import config

    os.environ["TRYTOND_CONFIG"] = conf
    cfg = config.set_trytond(database=database, config_file=conf)
    cfg.skip_warning = True  # e.g. posting an invoice over the party's credit limit is a warning
    return cfg


def _pay(invoice: Any, amount: Decimal, date: dt.date) -> None:
    from proteus import Model

    (method,) = Model.get("account.invoice.payment.method").find([("name", "=", "Cash")])
    pay = invoice.click("pay")
    pay.form.amount = amount
    pay.form.payment_method = method
    pay.form.date = date
    pay.execute("choice")
    if pay.state != "end":  # a part payment: keep the rest open
        pay.form.type = "partial"
        pay.execute("pay")


def seed(conf: str, database: str, out: str) -> None:
    from proteus import Model
    from trytond.modules.account.tests.tools import create_chart, create_fiscalyear, get_accounts
    from trytond.modules.account_invoice.tests.tools import set_fiscalyear_invoice_sequences
    from trytond.modules.company.tests.tools import create_company, get_company
    from trytond.modules.currency.tests.tools import get_currency

    cfg = _connect(conf, database)
    Party = Model.get("party.party")
    Country = Model.get("country.country")

    company_party = Party(name=COMPANY_NAME)
    company_party.save()
    create_company(party=company_party, currency=get_currency(COMPANY_CURRENCY))
    company = get_company()
    company.cancel_invoice_out = True
    company.save()
    get_currency("USD")  # with the test helpers' rates: 1 USD = 2 EUR, as in Tryton's own scenarios

    create_chart(company)
    fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear(company, today=FISCAL_YEAR_DAY))
    fiscalyear.click("create_period")
    accounts = get_accounts(company)

    Journal = Model.get("account.journal")
    (cash_journal,) = Journal.find([("type", "=", "cash")])
    PaymentMethod = Model.get("account.invoice.payment.method")
    PaymentMethod(
        name="Cash", journal=cash_journal, credit_account=accounts["cash"], debit_account=accounts["cash"]
    ).save()

    PaymentTerm = Model.get("account.invoice.payment_term")
    term = PaymentTerm(name=f"{PAYMENT_TERM_DAYS} days")
    line = term.lines.new(type="remainder")
    line.relativedeltas.new(days=PAYMENT_TERM_DAYS)
    term.save()

    parties: dict[str, Any] = {}
    for c in CUSTOMERS:
        (country,) = Country.find([("code", "=", c.country[0])]) or [Country(name=c.country[1], code=c.country[0])]
        if country.id is None or country.id < 0:
            country.save()
        party = Party(name=c.name)
        party.identifiers.new(type=c.identifier[0], code=c.identifier[1])
        address = party.addresses[0] if party.addresses else party.addresses.new()
        address.street = "1 Test Street"
        address.city = "Testville"
        address.country = country
        party.customer_payment_term = term
        if c.credit_limit is not None:
            party.credit_limit_amount = c.credit_limit
        party.save()
        parties[c.key] = party

    User = Model.get("res.user")
    Group = Model.get("res.group")
    ModelData = Model.get("ir.model.data")
    hub_user = User(login=HUB_LOGIN, name="Receivables hub", password=HUB_PASSWORD)
    for xml_id in HUB_GROUPS:
        hub_user.groups.append(Group(ModelData.get_id(xml_id, cfg.context)))
    hub_user.companies.append(company)
    hub_user.company = company
    hub_user.save()

    Invoice = Model.get("account.invoice")
    result: dict[str, Any] = {"company_party": company_party.id, "customers": {}, "invoices": {}}
    for c in CUSTOMERS:
        result["customers"][c.key] = parties[c.key].id
    created: dict[str, Any] = {}
    # Tryton numbers customer invoices in date order, so post them in that order; pay and cancel after.
    for spec in sorted(INVOICES, key=lambda i: i.invoice_date):
        invoice = Invoice(
            type="out",
            party=parties[spec.customer],
            invoice_date=spec.invoice_date,
            payment_term=term,
            currency=get_currency(spec.currency),
        )
        if spec.reference:
            invoice.reference = spec.reference
        line = invoice.lines.new()
        line.account = accounts["revenue"]
        line.description = f"Goods for {spec.key}"
        line.quantity = 1
        line.unit_price = spec.amount
        invoice.save()
        if spec.post:
            invoice.click("post")
        created[spec.key] = invoice
    for spec in INVOICES:
        invoice = created[spec.key]
        for date, amount in spec.payments:
            _pay(invoice, amount, date)
        if spec.cancel:
            invoice.click("cancel")
        invoice.reload()
        assert invoice.state == spec.state, (spec.key, invoice.state)
        assert invoice.total_amount == spec.amount, (spec.key, invoice.total_amount)
        result["invoices"][spec.key] = {"id": invoice.id, "number": invoice.number}
    del cfg
    Path(out).write_text(json.dumps(result, indent=2), encoding="utf-8")


def proteus_action(conf: str, database: str, action: str, args: dict[str, Any]) -> Any:
    """Data changes the tests make while the server runs, as a Tryton user's script would."""
    from proteus import Model

    _connect(conf, database)
    if action == "pay":
        invoice = Model.get("account.invoice")(int(args["invoice"]))
        _pay(invoice, Decimal(args["amount"]), dt.date.fromisoformat(args["date"]))
        invoice.reload()
        return {"state": invoice.state, "amount_to_pay": str(invoice.amount_to_pay)}
    if action == "set_credit_limit":
        party = Model.get("party.party")(int(args["party"]))
        party.credit_limit_amount = None if args["amount"] is None else Decimal(args["amount"])
        party.save()
        return {"credit_limit_amount": str(party.credit_limit_amount)}
    if action == "rename":
        party = Model.get("party.party")(int(args["party"]))
        party.name = args["name"]
        party.save()
        return {"name": party.name}
    raise SystemExit(f"unknown action {action!r}")


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "seed":
        seed(*rest)
    elif command == "proteus":
        conf_, db_, action_, raw = rest
        print(json.dumps(proteus_action(conf_, db_, action_, json.loads(raw)), default=str))
    else:
        raise SystemExit(f"usage: {sys.argv[0]} seed CONF DB OUT | proteus CONF DB ACTION JSON")
