"""Book 3: a Chinese seller's book in CNY: names only, no references.

What differs from the shared generator, and why a finance team in China sees it:

* customers under full legal names in Chinese (``上海宏达机械制造有限公司``, ``…股份有限公司``,
  ``…有限责任公司``), branches as customers of their own (``…有限公司上海分公司`` or with the
  branch in brackets, full-width brackets U+FF08/U+FF09 in the master, often ASCII ``(上海分公司)`` from
  the bank) whose head office is their parent; the same brand and trade in several cities;
* payer names without the legal-form suffix, with a department suffix (``财务部``, ``财务中心``,
  ``结算中心``), with the other kind of brackets, by short name (brand and trade only), paid by a
  third party on the customer's behalf (``代付``: a person or another company, the customer named
  in the text or not at all), by the group's head office;
* remittance without invoice numbers: ``货款``, ``3月货款``, ``往来款``, a contract number at most;
* several invoices in one transfer, part payments, payers' several bank accounts (basic and general
  accounts, not all in the master), Chinese account numbers rather than IBANs;
* receipts that pay nothing: interest from the bank, tax refunds, supplier refunds, personal transfers.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from books.common import (
    Book,
    Customer,
    Invoice,
    Receipt,
    by_customer,
    cn_account,
    lognormal_amount,
    money,
    spread_dates,
    take_open,
)

NAME = "chinese"
TITLE = "Chinese book (names only)"

CITIES = [
    "北京",
    "上海",
    "深圳市",
    "广州",
    "杭州",
    "苏州",
    "成都",
    "武汉",
    "天津",
    "南京",
    "宁波",
    "青岛",
    "东莞市",
    "佛山市",
    "无锡",
    "厦门",
    "重庆",
    "西安",
    "长沙",
    "合肥",
]
BRANDS = [
    "宏达",
    "鑫源",
    "恒通",
    "金盛",
    "永丰",
    "瑞丰",
    "海天",
    "天合",
    "华东",
    "中科",
    "长城",
    "东方",
    "盛世",
    "新华",
    "汇丰源",
    "泰康",
    "德润",
    "嘉禾",
    "华誉",
    "明阳",
    "众信",
    "博远",
    "天宇",
    "华瑞",
]
TRADES = [
    "机械制造",
    "电子科技",
    "信息技术",
    "贸易",
    "化工",
    "建材",
    "物流",
    "医药",
    "食品",
    "纺织",
    "汽车零部件",
    "新材料",
    "能源科技",
    "五金制品",
    "包装材料",
    "精密模具",
]
FORMS = ["有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]
DEPARTMENTS = ["财务部", "财务中心", "结算中心", "财务处"]
PEOPLE = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周婷", "吴斌"]
FW_OPEN, FW_CLOSE = "\uff08", "\uff09"  # full-width brackets
TEXTS = ["货款", "付货款", "支付货款", "往来款", "{m}月货款", "转账", "", "采购款", "合同款", "付{m}月份货款", "结算款"]


def sizes(invoices: int) -> tuple[int, int]:
    """Customers and receipts: a customer for every 15 invoices."""
    return max(invoices // 15, 20), max(invoices // 5, 10)


def strip_form(name: str) -> str:
    """The name without its legal form (and without a bracketed branch after it)."""
    for form in ("集团股份有限公司", "集团有限公司", "股份有限公司", "有限责任公司", "有限公司"):
        if form in name:
            head, _, tail = name.partition(form)
            return head + (tail if not tail.startswith((FW_OPEN, "(")) else "")
    return name


def swap_brackets(name: str) -> str:
    if FW_OPEN in name:
        return name.replace(FW_OPEN, "(").replace(FW_CLOSE, ")")
    return name.replace("(", FW_OPEN).replace(")", FW_CLOSE)


def generate(seed: int, invoices: int, today: dt.date = dt.date(2026, 8, 20)) -> Book:
    rng = random.Random(f"chinese-{seed}")
    n_customers, n_receipts = sizes(invoices)
    customers: list[Customer] = []
    names: set[str] = set()
    heads: list[Customer] = []
    for i in range(n_customers):
        cid = f"KH{20000 + i}"
        if heads and rng.random() < 0.12:  # a branch of an existing head office
            head = rng.choice(heads)
            city = rng.choice(CITIES).rstrip("市")
            name = f"{head.name}{city}分公司" if rng.random() < 0.5 else f"{head.name}{FW_OPEN}{city}分公司{FW_CLOSE}"
            parent = head.customer_id
        else:
            for _ in range(30):
                name = f"{rng.choice(CITIES)}{rng.choice(BRANDS)}{rng.choice(TRADES)}{rng.choice(FORMS)}"
                if name not in names:
                    break
            parent = ""
        if name in names:
            continue
        names.add(name)
        c = Customer(
            cid,
            name,
            f"91{rng.randint(110000, 659999)}{rng.randint(10**9, 10**10 - 1)}",
            "CN",
            "CNY",
            money(rng.choice([10, 30, 50, 100, 300, 500]) * 10000),
            cn_account(rng),
            parent,
        )
        customers.append(c)
        if not parent:
            heads.append(c)
    book = Book(customers=customers, name=NAME, today=today)
    day_seq: dict[dt.date, int] = {}
    for issued in sorted(spread_dates(rng, today, 360) for _ in range(invoices)):
        c = rng.choice(customers)
        seq = day_seq[issued] = day_seq.get(issued, 0) + 1
        amount = (
            money(rng.choice([5000, 8000, 10000, 20000, 30000, 50000, 100000]))
            if rng.random() < 0.15
            else lognormal_amount(rng, 16000.0, 1.15, 200.0, 3_000_000.0)
        )
        book.invoices.append(
            Invoice(
                f"XS{issued:%Y%m%d}{seq:04d}",
                c.customer_id,
                issued,
                issued + dt.timedelta(days=rng.choice([30, 60, 90, 90, 120])),
                "CNY",
                amount,
                f"HT{issued:%Y}-{rng.randint(1000, 9999)}" if rng.random() < 0.3 else "",
            )
        )
    _receipts(rng, book, n_receipts, today)
    return book


def _payer(
    rng: random.Random, c: Customer, by_id: dict[str, Customer], accounts: dict[str, list[str]]
) -> tuple[str, str, str, list[str]]:
    """(payer name, account, extra text, tags)."""
    account = rng.choice(accounts[c.customer_id])
    tags = [] if account == c.iban else ["account-not-in-master"]
    parent = by_id.get(c.parent_id)
    r = rng.random()
    if parent is not None and r < 0.3:
        return parent.name, parent.iban, "", ["head-office-pays"]
    r = rng.random()
    if r < 0.3:
        return c.name, account, "", tags
    if r < 0.52:
        return strip_form(c.name), account, "", [*tags, "without-legal-form"]
    if r < 0.64:
        base = c.name if rng.random() < 0.5 else strip_form(c.name)
        return base + rng.choice(DEPARTMENTS), account, "", [*tags, "department-suffix"]
    if r < 0.70 and (FW_OPEN in c.name or "(" in c.name):
        return swap_brackets(c.name), account, "", [*tags, "brackets-swapped"]
    if r < 0.76:
        short = strip_form(c.name)
        for city in CITIES:
            short = short.removeprefix(city).removeprefix(city.rstrip("市"))
        return short, account, "", [*tags, "short-name"]
    if r < 0.88:  # 代付: someone else pays
        short = strip_form(c.name)
        if rng.random() < 0.5:
            who = rng.choice(PEOPLE)
            text = rng.choice([f"代{short}付货款", f"{short}货款", "代付货款"])
        else:
            who = f"{rng.choice(CITIES)}{rng.choice(BRANDS)}{rng.choice(TRADES)}有限公司"
            text = rng.choice([f"代付{c.name}货款", f"代{short}支付", "代付"])
        return who, cn_account(rng), text, ["daifu-third-party"] + (["daifu-unnamed"] if short not in text else [])
    return c.name, account, "", tags


def _receipts(rng: random.Random, book: Book, n: int, today: dt.date) -> None:
    invoices = by_customer(book.invoices)
    for pool in invoices.values():
        pool.sort(key=lambda i: i.issue_date)
    by_id = {c.customer_id: c for c in book.customers}
    # each customer pays from its basic account (in the master) and from 0-2 general accounts
    accounts = {
        c.customer_id: [c.iban] + [cn_account(rng) for _ in range(rng.choice([0, 1, 1, 2]))] for c in book.customers
    }
    paying = [c for c in book.customers if c.customer_id in invoices]
    shared: dict[str, int] = {}
    for c in book.customers:
        key = strip_form(c.name)
        for city in CITIES:
            key = key.removeprefix(city).removeprefix(city.rstrip("市"))
        shared[key] = shared.get(key, 0) + 1
    used: set[str] = set()
    for k in range(n):
        ref = f"CN{today:%Y%m%d}{k + 1:08d}"
        if rng.random() < 0.06:
            _not_ours(rng, book, ref)
            continue
        c = rng.choice(paying)
        r = rng.random()
        size = rng.randint(2, 8) if r < 0.15 else 1
        group = take_open(rng, invoices[c.customer_id], used, size, oldest_first=rng.random() < 0.7)
        if not group:
            continue
        tags = ["no-reference"] + (["group-2-8"] if len(group) > 1 else [])
        paid = [(inv, inv.amount) for inv in group]
        amount = sum((a for _, a in paid), Decimal(0))
        if len(group) == 1 and rng.random() < 0.07:
            # a part, never the amount of another open invoice of the customer (nobody could tell them apart)
            others = {i.amount for i in invoices[c.customer_id] if i.number not in used}
            parts = [
                p for p in (money(amount * Decimal(f)) for f in ("0.3", "0.5", "0.4", "0.35")) if p not in others
            ] or [money(amount * Decimal("0.37"))]
            amount = parts[0] if rng.random() < 0.5 or len(parts) == 1 else parts[1]
            paid = [(group[0], amount)]
            tags.append("partial")
        payer, account, extra, payer_tags = _payer(rng, c, by_id, accounts)
        tags.extend(payer_tags)
        key = strip_form(c.name)
        for city in CITIES:
            key = key.removeprefix(city).removeprefix(city.rstrip("市"))
        if shared.get(key, 0) > 1:
            tags.append("brand-trade-shared")
        text = extra or rng.choice(TEXTS).format(m=rng.randint(1, 12))
        if rng.random() < 0.1 and group[0].po_number:
            text = f"{text} 合同号{group[0].po_number}"
            tags.append("contract-number")
        book.add(Receipt(ref, amount, "CNY", payer, account, text), paid, *tags)


def _not_ours(rng: random.Random, book: Book, ref: str) -> None:
    r = rng.random()
    if r < 0.3:
        payer, text, tag = f"中国工商银行股份有限公司{rng.choice(CITIES)}分行", "利息", "interest"
    elif r < 0.5:
        payer, text, tag = "国家金库上海市分库", rng.choice(["退税", "增值税留抵退税"]), "tax-refund"
    elif r < 0.75:
        payer = f"{rng.choice(CITIES)}{rng.choice(BRANDS)}{rng.choice(TRADES)}有限公司"
        text, tag = rng.choice(["退款", "退货款", "保证金退还"]), "supplier-refund"
    else:
        payer, text, tag = rng.choice(PEOPLE), rng.choice(["往来款", "借款", ""]), "personal-transfer"
    book.add(
        Receipt(ref, money(rng.lognormvariate(8.0, 1.4) + 1), "CNY", payer, cn_account(rng), text),
        [],
        "not-a-customer-payment",
        tag,
    )
