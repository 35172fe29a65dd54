"""Identity resolution: one canonical customer across ERP, CRM, bureau and bank records.

Customers of the master source (``[identity] master``) carry canonical ids (their own external
ids); a customer record of any other source starts as its own customer ``<source>:<external_id>``
(see :mod:`hub.sync`). :func:`resolve` finds, for each such record that is still its own customer,
the master customer it is, by these rules in order of strength:

1. ``tax_id``: the same tax or registration id once normalised and validated with python-stdnum
   (EU VAT with or without its country prefix, other national VAT numbers stdnum knows, Chinese
   USCC, US EIN, UK company numbers by format). Ids that fail validation are never used and are
   reported in :attr:`IdentityStats.invalid`.
2. ``external_link``: the record's ``links`` name a record that already belongs to a master
   customer, or a master record's ``links`` name this record.
3. ``iban``: a bank account (validated IBAN) the record shares with a master customer.
4. ``name``: the legal names (and aliases) are close once case, accents, punctuation and legal
   forms are set aside (rapidfuzz ``token_sort_ratio``), compared only within a block: the same
   country (or one side without a country) and the same first word or first three letters.

A record with exactly one candidate from rules 1-3 (of the kinds in ``[identity] auto_link``) is
linked at once: its ``canonical_id`` becomes the master's, with a ``customer_link`` row and an
audit-log entry naming the evidence. Name-only matches, two candidates (a conflict), and strong
matches that other evidence contradicts (different valid tax ids) become proposals for a person to
accept or reject (``hub customers proposals|accept|reject``). ``hub customers unlink`` returns a
record to its own id for good: resolution never links it again, and never re-proposes a pair a
person rejected.

When a record's old canonical id goes out of use, the rows that named it move with it: learned
payer aliases (``customer_alias``), promises to pay, the hub's own collection-ledger lines, and
pending credit-limit proposals (superseded). Exposure, flags and assessments are the risk run's:
its next run assesses the merged customer and clears the flags of the id that is gone.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from rapidfuzz import fuzz
from stdnum import iban as stdnum_iban
from stdnum.cn import uscc
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.us import ein
from stdnum.util import get_cc_module

from hub import codes
from hub.config import IdentityConfig
from hub.errors import IdentityError
from hub.i18n import N_
from hub.log import get_logger
from hub.names import LEGAL_FORMS as LEGAL_FORMS, name_keys as name_keys, normalise_name as normalise_name
from hub.risk.collection import HUB_SOURCE  # the hub's own ledger lines name the canonical customer
from hub.store import Store, schema, utcnow

log = get_logger(__name__)

#: Who automatic decisions are recorded as (``decided_by``, audit-log actor).
RESOLVER = "identity-resolution"
METHODS = ("tax_id", "external_link", "iban", "name", "manual")
STATUSES = codes.LINK_STATUSES
#: Status of a link in force (the record's canonical id is the link's).
IN_FORCE = ("applied", "manual")
#: Confidence of a link by each strong rule (a name match's is its similarity).
CONFIDENCE = {"tax_id": 0.99, "external_link": 0.97, "iban": 0.9}


# -- tax and registration ids ------------------------------------------------------------------------

_VAT_SCHEMES = frozenset({"vat", "tva", "ust", "ustid", "ust-idnr", "mwst", "iva", "btw", "moms", "vat_id", "vatin"})
_USCC_SCHEMES = frozenset({"uscc", "cn_uscc", "cn-uscc", "tyshxydm"})
_EIN_SCHEMES = frozenset({"ein", "fein", "us_ein", "us-ein"})
_CRN_SCHEMES = frozenset({"crn", "gb_crn", "gb-crn", "company_number", "companies_house"})
_UNKNOWN_SCHEMES = frozenset({"", "tax", "tax_id", "taxid", "registration"})
#: VAT prefixes that are not the ISO country code.
_VAT_PREFIX_COUNTRY = {"EL": "GR", "XI": "GB"}
_ISO_VAT_PREFIX = {"GR": "EL"}
_CRN = re.compile(r"^(?:\d{8}|(?:SC|NI|OC|SO|NC|SL|SE|SA|SF|NF|NL|NO|NP|NR|NZ|FC|GE|GN|GS|IP|SP|IC|LP|RC|R0|ZC)\d{6})$")
_SEPARATORS = re.compile(r"[\s.\-/_:]")


@dataclass(frozen=True)
class TaxKey:
    """A validated tax or registration id in one canonical spelling, e.g. ``vat:DE136695976``."""

    scheme: str
    value: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.value}"


def _clean(value: str) -> str:
    return _SEPARATORS.sub("", value).upper()


def _vat_key(value: str, country: str | None) -> TaxKey:
    """An EU or national VAT number, with or without its country prefix (then the record's country).

    The key is ``vat:`` + ISO country + number, so ``EL...`` and a Greek number without prefix agree.
    """
    text = _clean(value)
    if len(text) > 2 and text[:2].isalpha():
        prefix, body = text[:2], text[2:]
        cc = _VAT_PREFIX_COUNTRY.get(prefix, prefix)
    elif country:
        cc = country.upper()
        prefix, body = _ISO_VAT_PREFIX.get(cc, cc), text
    else:
        raise ValueError("no country prefix, and the record has no country to take it from")
    if prefix.lower() in eu_vat.MEMBER_STATES or prefix == "EL":
        number = eu_vat.validate(prefix + body)
        return TaxKey("vat", cc + number[2:])
    module = _vat_module(cc)
    if module is None:
        raise ValueError(f"no VAT number format known for country {cc}")
    if module is uscc:
        return TaxKey("uscc", uscc.validate(body))
    for candidate in (prefix + body, body):
        try:
            number = module.validate(candidate)
        except StdnumError:
            continue
        digits = re.sub(r"^[A-Z]+|[A-Z]+$", "", _clean(str(number)))  # CHE...MWST -> the digits
        return TaxKey("vat", cc + digits)
    module.validate(body)  # raises with stdnum's reason
    raise ValueError("not a valid VAT number")  # pragma: no cover - validate raised above


def _vat_module(cc: str) -> Any:
    try:
        return get_cc_module(cc.lower(), "vat")
    except ImportError:  # pragma: no cover - get_cc_module returns None for unknown countries
        return None


def _crn_key(value: str) -> TaxKey:
    text = _clean(value)
    if text.isdigit() and len(text) < 8:
        text = text.zfill(8)
    if not _CRN.match(text):
        raise ValueError("a UK company number is 8 digits or 2 letters and 6 digits")
    return TaxKey("gb_crn", text)


def tax_key(scheme: str, value: str, country: str | None = None) -> TaxKey:
    """The canonical key of a tax or registration id, or ValueError/stdnum's ValidationError saying why not.

    ``scheme`` is the record's (``vat``, ``uscc``, ``ein``, ``crn``...); ``tax`` or empty means unknown:
    then the id's shape and the record's ``country`` decide (USCC for China, EIN for the US, a UK
    company number when a GB id is not a VAT number, else VAT).
    """
    kind = (scheme or "").strip().lower()
    cc = country.upper() if country else None
    if kind in _USCC_SCHEMES:
        return TaxKey("uscc", uscc.validate(value))
    if kind in _EIN_SCHEMES:
        return TaxKey("ein", ein.validate(value).replace("-", ""))
    if kind in _CRN_SCHEMES:
        return _crn_key(value)
    if kind in _VAT_SCHEMES:
        return _vat_key(value, cc)
    if kind not in _UNKNOWN_SCHEMES:
        raise ValueError(f"unknown id scheme {scheme!r}")
    text = _clean(value)
    if cc == "CN" or (len(text) == 18 and uscc.is_valid(text)):
        return TaxKey("uscc", uscc.validate(text))
    if cc == "US" and not text[:2].isalpha():
        return TaxKey("ein", ein.validate(value).replace("-", ""))
    if cc == "GB" and not text.startswith(("GB", "XI")):
        try:
            return _vat_key(value, cc)
        except (ValueError, StdnumError):
            return _crn_key(value)
    return _vat_key(value, cc)


def iban_key(value: str) -> str:
    """A validated IBAN without spaces, upper case; stdnum's ValidationError when it is not one."""
    return str(stdnum_iban.validate(value))


# -- names -------------------------------------------------------------------------------------------

# -- names: hub.names (shared with the name matcher) --------------------------------------------


def name_blocks(key: str) -> set[str]:
    """Blocking keys of a normalised name: its first word and its first three letters."""
    words = key.split()
    if not words:
        return set()
    return {"w:" + words[0], "p:" + key.replace(" ", "")[:3]}


def name_score(a: Iterable[str], b: Iterable[str]) -> float:
    """Best token-sort similarity (0-100) between any normalised form of one name and of the other."""
    best = 0.0
    for x in a:
        for y in b:
            best = max(best, float(fuzz.token_sort_ratio(x, y)))
    return best


# -- the resolution run ------------------------------------------------------------------------------


@dataclass
class IdentityStats:
    considered: int = 0
    """Records of other sources still their own customer (and not unlinked by a person)."""
    applied: dict[str, int] = field(default_factory=dict)
    """Links made, by rule."""
    proposed: int = 0
    """Records with open proposals after the run."""
    conflicts: int = 0
    """Records with two or more master candidates (proposed, not applied)."""
    unmatched: int = 0
    kept_unlinked: int = 0
    """Records a person unlinked: left alone."""
    invalid: list[dict[str, str]] = field(default_factory=list)
    """Tax ids and IBANs that failed validation (not used): source, external_id, field, value, problem."""
    seconds: float = 0.0

    @property
    def linked(self) -> int:
        return sum(self.applied.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "linked": self.linked}


@dataclass
class _Record:
    id: int
    source: str
    external_id: str
    canonical_id: str
    name: str
    aliases: list[str]
    country: str | None
    tax_keys: set[TaxKey]
    ibans: set[str]
    links: dict[str, str]

    @property
    def key(self) -> str:
        return f"{self.source}:{self.external_id}"


@dataclass
class _Candidate:
    canonical_id: str
    method: str
    confidence: float
    evidence: list[dict[str, Any]] = field(default_factory=list)


def own_id(source: str, external_id: str, master_source: str | None) -> str:
    """The canonical id a record has when it is linked to nothing (the sync engine's rule)."""
    return external_id if source == master_source else f"{source}:{external_id}"


def _record(row: Any, stats: IdentityStats | None) -> _Record:
    country = (row.country or "").strip().upper() or None
    keys: set[TaxKey] = set()
    for tid in row.tax_ids or ():
        scheme, value = (tid.get("scheme", "tax"), tid.get("value", "")) if isinstance(tid, dict) else ("tax", tid)
        if not value:
            continue
        try:
            keys.add(tax_key(str(scheme), str(value), country))
        except (ValueError, StdnumError) as exc:
            if stats is not None:
                stats.invalid.append(_problem(row, "tax_ids", f"{scheme}:{value}", exc))
    ibans: set[str] = set()
    for text in row.ibans or ():
        if not text:
            continue
        try:
            ibans.add(iban_key(str(text)))
        except StdnumError as exc:
            if stats is not None:
                stats.invalid.append(_problem(row, "ibans", str(text), exc))
    return _Record(
        row.id,
        row.source,
        row.external_id,
        row.canonical_id,
        row.legal_name,
        list(row.aliases or []),
        country,
        keys,
        ibans,
        dict(row.links or {}),
    )


def _problem(row: Any, field_name: str, value: str, exc: Exception) -> dict[str, str]:
    reason = str(exc) or type(exc).__name__
    return {
        "source": row.source,
        "external_id": row.external_id,
        "field": field_name,
        "value": value,
        "problem": reason,
    }


class _Masters:
    """The master customers, indexed by every rule's key."""

    def __init__(self, records: list[_Record]) -> None:
        self.by_cid: dict[str, list[_Record]] = defaultdict(list)
        self.by_tax: dict[TaxKey, set[str]] = defaultdict(set)
        self.by_iban: dict[str, set[str]] = defaultdict(set)
        self.linking: dict[tuple[str, str], set[str]] = defaultdict(set)  # (source, id) named in links -> cids
        self.names: dict[str, set[str]] = {}
        self.by_block: dict[tuple[str | None, str], set[str]] = defaultdict(set)
        self.by_block_any: dict[str, set[str]] = defaultdict(set)
        self.countries: dict[str, set[str | None]] = defaultdict(set)
        for rec in records:
            cid = rec.canonical_id
            self.by_cid[cid].append(rec)
            for k in rec.tax_keys:
                self.by_tax[k].add(cid)
            for i in rec.ibans:
                self.by_iban[i].add(cid)
            for source, ext in rec.links.items():
                self.linking[(str(source), str(ext))].add(cid)
            keys = self.names.setdefault(cid, set())
            for name in (rec.name, *rec.aliases):
                keys |= name_keys(name) if name else set()
            self.countries[cid].add(rec.country)
        for cid, keys in self.names.items():
            for key in keys:
                for block in name_blocks(key):
                    self.by_block_any[block].add(cid)
                    for country in self.countries[cid]:
                        self.by_block[(country, block)].add(cid)

    def tax_keys(self, cid: str) -> set[TaxKey]:
        return {k for rec in self.by_cid.get(cid, ()) for k in rec.tax_keys}

    def name_of(self, cid: str) -> str:
        recs = self.by_cid.get(cid)
        return recs[0].name if recs else cid


def resolve(store: Store, *, master_source: str | None, settings: IdentityConfig | None = None) -> IdentityStats:
    """Link every record of another source that is still its own customer to its master customer.

    Strong unique matches (rules in ``settings.auto_link``) are applied; the rest become proposals.
    Runs in one transaction. Returns what it did; see the module docstring for the rules.
    """
    settings = settings or IdentityConfig()
    started = time.perf_counter()
    stats = IdentityStats()
    if master_source is None:
        log.info("identity.no_master")
        return stats
    c, cl = schema.customer, schema.customer_link
    now = utcnow()
    cols = [
        c.c.id,
        c.c.source,
        c.c.external_id,
        c.c.canonical_id,
        c.c.legal_name,
        c.c.aliases,
        c.c.tax_ids,
        c.c.country,
        c.c.ibans,
        c.c.links,
    ]
    with store.begin() as conn:
        pending_rows = conn.execute(
            sa.select(*cols)
            .where(c.c.source != master_source, c.c.canonical_id == c.c.source + ":" + c.c.external_id)
            .order_by(c.c.id)
        ).all()
        decided: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # record -> {cid: status}
        for source, ext, cid, status in conn.execute(
            sa.select(cl.c.source, cl.c.external_id, cl.c.canonical_id, cl.c.status)
        ):
            decided[(source, ext)][cid] = status
        todo: list[_Record] = []
        for row in pending_rows:
            if "unlinked" in decided.get((row.source, row.external_id), {}).values():
                stats.kept_unlinked += 1
                continue
            todo.append(_record(row, stats))
        stats.considered = len(todo)
        if not todo:
            stats.seconds = time.perf_counter() - started
            return stats
        masters = _Masters(
            [_record(r, None) for r in conn.execute(sa.select(*cols).where(c.c.source == master_source))]
        )
        # Every record's canonical id, for links that name a record already resolved to a master.
        owner = {
            (s, e): cid
            for s, e, cid in conn.execute(sa.select(c.c.source, c.c.external_id, c.c.canonical_id))
            if cid in masters.by_cid
        }
        for rec in todo:
            past = decided.get((rec.source, rec.external_id), {})
            strong = _strong_candidates(rec, masters, owner)
            for cid in [cid for cid in strong if past.get(cid) == "rejected"]:
                del strong[cid]
            proposals: list[_Candidate] = []
            if len(strong) == 1:
                (cand,) = strong.values()
                contradiction = _contradiction(rec, masters, cand)
                if cand.method in settings.auto_link and contradiction is None:
                    _apply(
                        store, conn, rec, cand, status="applied", actor=RESOLVER, master_source=master_source, now=now
                    )
                    stats.applied[cand.method] = stats.applied.get(cand.method, 0) + 1
                    continue
                if contradiction is not None:
                    cand.evidence.append(contradiction)
                    cand.confidence = min(cand.confidence, 0.5)
                proposals = [cand]
            elif len(strong) > 1:
                stats.conflicts += 1
                others = sorted(strong)
                for cand in strong.values():
                    cand.evidence.append(
                        {
                            "rule": "conflict",
                            "candidates": others,
                            "detail": f"{len(others)} master customers match: {', '.join(others)}",
                        }
                    )
                    cand.confidence = min(cand.confidence, 0.5)
                proposals = sorted(strong.values(), key=lambda x: x.canonical_id)
            else:
                proposals = [
                    x for x in _name_candidates(rec, masters, settings) if past.get(x.canonical_id) != "rejected"
                ]
            if not proposals:
                stats.unmatched += 1
            _store_proposals(conn, rec, proposals, past, now)
            stats.proposed += bool(proposals)
    stats.seconds = time.perf_counter() - started
    log.info(
        "identity.resolved",
        **{k: v for k, v in stats.as_dict().items() if k != "invalid"},
        invalid_ids=len(stats.invalid),
    )
    return stats


def _strong_candidates(rec: _Record, masters: _Masters, owner: dict[tuple[str, str], str]) -> dict[str, _Candidate]:
    """Master customers rules 1-3 point at, each with all its evidence; the strongest rule names the method."""
    found: dict[str, _Candidate] = {}

    def add(cid: str, method: str, evidence: dict[str, Any]) -> None:
        cand = found.get(cid)
        if cand is None:
            found[cid] = _Candidate(cid, method, CONFIDENCE[method], [evidence])
        else:
            cand.evidence.append(evidence)

    for key in sorted(rec.tax_keys, key=str):
        for cid in sorted(masters.by_tax.get(key, ())):
            add(cid, "tax_id", {"rule": "tax_id", "value": str(key), "detail": f"same {key.scheme} {key.value}"})
    for source, ext in sorted(rec.links.items()):
        named = owner.get((str(source), str(ext)))
        if named is not None:
            add(
                named,
                "external_link",
                {
                    "rule": "external_link",
                    "direction": "record names master",
                    "detail": f"the record's links name {source} {ext}",
                },
            )
    for cid in sorted(masters.linking.get((rec.source, rec.external_id), ())):
        add(
            cid,
            "external_link",
            {
                "rule": "external_link",
                "direction": "master names record",
                "detail": f"master customer {cid} links {rec.source} {rec.external_id}",
            },
        )
    for number in sorted(rec.ibans):
        for cid in sorted(masters.by_iban.get(number, ())):
            add(cid, "iban", {"rule": "iban", "value": number, "detail": f"same bank account {number}"})
    return found


def _contradiction(rec: _Record, masters: _Masters, cand: _Candidate) -> dict[str, Any] | None:
    """Evidence against a strong match: both sides have valid ids of a scheme and none in common."""
    if cand.method == "tax_id":
        return None
    theirs = masters.tax_keys(cand.canonical_id)
    for scheme in sorted({k.scheme for k in rec.tax_keys} & {k.scheme for k in theirs}):
        mine = {k for k in rec.tax_keys if k.scheme == scheme}
        other = {k for k in theirs if k.scheme == scheme}
        if not mine & other:
            return {
                "rule": "contradiction",
                "detail": f"different {scheme}: {', '.join(sorted(map(str, mine)))} "
                f"here, {', '.join(sorted(map(str, other)))} on {cand.canonical_id}",
            }
    return None


def _name_candidates(rec: _Record, masters: _Masters, settings: IdentityConfig) -> list[_Candidate]:
    mine: set[str] = set()
    for name in (rec.name, *rec.aliases):
        mine |= name_keys(name) if name else set()
    pool: set[str] = set()
    for key in mine:
        for block in name_blocks(key):
            if rec.country is None:
                pool |= masters.by_block_any.get(block, set())
            else:
                pool |= masters.by_block.get((rec.country, block), set())
                pool |= masters.by_block.get((None, block), set())
    scored = []
    for cid in pool:
        score = name_score(mine, masters.names.get(cid, ()))
        if score >= settings.name_threshold:
            scored.append((score, cid))
    scored.sort(key=lambda x: (-x[0], x[1]))
    out = []
    for score, cid in scored[: settings.name_max_proposals]:
        evidence: dict[str, Any] = {
            "rule": "name",
            "score": round(score, 1),
            "name": rec.name,
            "master_name": masters.name_of(cid),
            "detail": f"name {rec.name!r} is {score:.0f}% like {masters.name_of(cid)!r}",
        }
        out.append(_Candidate(cid, "name", round(score / 100, 3), [evidence]))
    if len(out) > 1:
        others = [x.canonical_id for x in out]
        for cand in out:
            cand.evidence.append(
                {
                    "rule": "conflict",
                    "candidates": others,
                    "detail": f"{len(others)} master customers have a similar name",
                }
            )
    return out


def _store_proposals(
    conn: sa.Connection, rec: _Record, proposals: Sequence[_Candidate], past: dict[str, str], now: dt.datetime
) -> None:
    """Write the record's current proposals; open ones no longer supported by the evidence go away."""
    cl = schema.customer_link
    wanted = {p.canonical_id for p in proposals}
    stale = [cid for cid, status in past.items() if status == "proposed" and cid not in wanted]
    if stale:
        conn.execute(
            cl.delete().where(
                cl.c.source == rec.source,
                cl.c.external_id == rec.external_id,
                cl.c.canonical_id.in_(stale),
                cl.c.status == "proposed",
            )
        )
    for cand in proposals:
        values = {"method": cand.method, "evidence": cand.evidence, "confidence": cand.confidence}
        status = past.get(cand.canonical_id)
        if status is None:
            conn.execute(
                cl.insert().values(
                    source=rec.source,
                    external_id=rec.external_id,
                    canonical_id=cand.canonical_id,
                    status="proposed",
                    created_at=now,
                    **values,
                )
            )
        elif status in ("proposed", "superseded"):
            conn.execute(
                cl.update()
                .where(
                    cl.c.source == rec.source,
                    cl.c.external_id == rec.external_id,
                    cl.c.canonical_id == cand.canonical_id,
                )
                .values(status="proposed", decided_by=None, decided_at=None, **values)
            )


# -- applying links ----------------------------------------------------------------------------------


def _apply(
    store: Store,
    conn: sa.Connection,
    rec: _Record,
    cand: _Candidate,
    *,
    status: str,
    actor: str,
    master_source: str | None,
    now: dt.datetime,
    note: str | None = None,
) -> None:
    """Point a record (and what was linked through its own id) at ``cand.canonical_id``; audit it."""
    c, cl = schema.customer, schema.customer_link
    old = rec.canonical_id
    new = cand.canonical_id
    own = own_id(rec.source, rec.external_id, master_source)
    conn.execute(c.update().where(c.c.id == rec.id).values(canonical_id=new))
    moved = [rec.key]
    if old == own:
        # Records linked to this one while it was its own customer follow it.
        followers = conn.execute(
            sa.select(c.c.id, c.c.source, c.c.external_id).where(c.c.canonical_id == old, c.c.id != rec.id)
        ).all()
        if followers:
            conn.execute(c.update().where(c.c.id.in_([f.id for f in followers])).values(canonical_id=new))
            moved += [f"{f.source}:{f.external_id}" for f in followers]
    repointed = _repoint(conn, old, new, actor, now) if _unused(conn, old) else {}
    existing = conn.execute(
        sa.select(cl.c.id).where(
            cl.c.source == rec.source, cl.c.external_id == rec.external_id, cl.c.canonical_id == new
        )
    ).scalar_one_or_none()
    values = {
        "method": cand.method,
        "evidence": cand.evidence,
        "confidence": cand.confidence,
        "status": status,
        "decided_by": actor,
        "decided_at": now,
    }
    if existing is None:
        conn.execute(
            cl.insert().values(
                source=rec.source, external_id=rec.external_id, canonical_id=new, created_at=now, **values
            )
        )
    else:
        conn.execute(cl.update().where(cl.c.id == existing).values(**values))
    # Other open proposals, and an earlier link in force, are over.
    conn.execute(
        cl.update()
        .where(
            cl.c.source == rec.source,
            cl.c.external_id == rec.external_id,
            cl.c.canonical_id != new,
            cl.c.status.in_(("proposed", *IN_FORCE)),
        )
        .values(status="superseded", decided_by=actor, decided_at=now)
    )
    details: dict[str, Any] = {
        "canonical_id": new,
        "previous": old,
        "method": cand.method,
        "confidence": cand.confidence,
        "evidence": cand.evidence,
    }
    if len(moved) > 1:
        details["moved"] = moved
    if repointed:
        details["repointed"] = repointed
    if note:
        details["note"] = note
    store.audit(conn, actor, "identity.link", "customer", rec.key, **details)
    rec.canonical_id = new
    log.info("identity.linked", record=rec.key, canonical_id=new, previous=old, method=cand.method)


def _unused(conn: sa.Connection, cid: str) -> bool:
    c = schema.customer
    return conn.execute(sa.select(sa.literal(1)).where(sa.exists().where(c.c.canonical_id == cid))).first() is None


def _repoint(conn: sa.Connection, old: str, new: str, actor: str, now: dt.datetime) -> dict[str, int]:
    """Move the rows that name canonical id ``old`` (now out of use) to ``new``; counts per table."""
    counts: dict[str, int] = {}
    alias = schema.customer_alias
    taken = {
        (kind, value)
        for kind, value in conn.execute(sa.select(alias.c.kind, alias.c.value).where(alias.c.customer_id == new))
    }
    dupes = [
        rid
        for rid, kind, value in conn.execute(
            sa.select(alias.c.id, alias.c.kind, alias.c.value).where(alias.c.customer_id == old)
        )
        if (kind, value) in taken
    ]
    if dupes:
        conn.execute(alias.delete().where(alias.c.id.in_(dupes)))
    counts["customer_alias"] = conn.execute(
        alias.update().where(alias.c.customer_id == old).values(customer_id=new)
    ).rowcount + len(dupes)
    p = schema.promise
    counts["promise"] = conn.execute(p.update().where(p.c.customer_id == old).values(customer_id=new)).rowcount
    ca = schema.collection_action
    counts["collection_action"] = conn.execute(
        ca.update().where(ca.c.source == HUB_SOURCE, ca.c.customer_external_id == old).values(customer_external_id=new)
    ).rowcount
    clp = schema.credit_limit_proposal
    counts["credit_limit_proposal"] = conn.execute(
        clp.update()
        .where(clp.c.customer_id == old, clp.c.status == "pending")
        .values(
            status="superseded",
            decided_by=actor,
            decided_at=now,
            note=f"customer {old} was merged into {new} by identity resolution",
        )
    ).rowcount
    return {k: v for k, v in counts.items() if v}


# -- manual control ----------------------------------------------------------------------------------


def parse_record_ref(ref: str) -> tuple[str, str]:
    """``SOURCE:EXTERNAL_ID`` -> (source, external id); the id may itself contain colons."""
    source, sep, ext = ref.partition(":")
    if not sep or not source or not ext:
        raise IdentityError(
            N_("name the record as SOURCE:EXTERNAL_ID (e.g. crm:0011x00000AbC), got %(ref)r"), values={"ref": ref}
        )
    return source, ext


def _load_record(conn: sa.Connection, source: str, external_id: str) -> _Record:
    c = schema.customer
    row = conn.execute(
        sa.select(
            c.c.id,
            c.c.source,
            c.c.external_id,
            c.c.canonical_id,
            c.c.legal_name,
            c.c.aliases,
            c.c.tax_ids,
            c.c.country,
            c.c.ibans,
            c.c.links,
        ).where(c.c.source == source, c.c.external_id == external_id)
    ).first()
    if row is None:
        sources = sorted(conn.execute(sa.select(c.c.source).distinct()).scalars())
        raise IdentityError(
            N_("no customer record %(record)s (sources with customers: %(sources)s)"),
            values={"record": f"{source}:{external_id}", "sources": ", ".join(sources) or "none"},
        )
    return _record(row, None)


def link(
    store: Store,
    source: str,
    external_id: str,
    canonical_id: str,
    *,
    actor: str,
    master_source: str | None,
    note: str | None = None,
) -> dict[str, Any]:
    """Link a record to an existing canonical customer by hand (status ``manual``, audited)."""
    with store.begin() as conn:
        rec = _load_record(conn, source, external_id)
        if _unused(conn, canonical_id):
            raise IdentityError(
                N_("no customer has canonical id %(customer)r ('hub customers list' shows them)"),
                values={"customer": canonical_id},
            )
        if rec.canonical_id == canonical_id:
            raise IdentityError(
                N_("%(record)s already belongs to %(customer)s"), values={"record": rec.key, "customer": canonical_id}
            )
        evidence = [{"rule": "manual", "detail": f"linked by {actor}" + (f": {note}" if note else "")}]
        previous = rec.canonical_id
        _apply(
            store,
            conn,
            rec,
            _Candidate(canonical_id, "manual", 1.0, evidence),
            status="manual",
            actor=actor,
            master_source=master_source,
            now=utcnow(),
            note=note,
        )
    return {"record": rec.key, "canonical_id": canonical_id, "previous": previous}


def unlink(
    store: Store, source: str, external_id: str, *, actor: str, master_source: str | None, note: str | None = None
) -> dict[str, Any]:
    """Return a record to its own canonical id; remembered, so resolution never links it again."""
    c, cl = schema.customer, schema.customer_link
    now = utcnow()
    with store.begin() as conn:
        rec = _load_record(conn, source, external_id)
        own = own_id(source, external_id, master_source)
        old = rec.canonical_id
        if old != own:
            if not _unused(conn, own):
                raise IdentityError(
                    N_("canonical id %(customer)s is in use by another record; link or unlink that record first"),
                    values={"customer": own},
                )
            conn.execute(c.update().where(c.c.id == rec.id).values(canonical_id=own))
        # Promises made in this record's own collection notes go back with it.
        p, ca = schema.promise, schema.collection_action
        own_actions = sa.select(ca.c.id).where(ca.c.source == source, ca.c.customer_external_id == external_id)
        moved_promises = 0
        if old != own:
            moved_promises = conn.execute(
                p.update().where(p.c.customer_id == old, p.c.action_id.in_(own_actions)).values(customer_id=own)
            ).rowcount
        existing = conn.execute(
            sa.select(cl.c.id).where(cl.c.source == source, cl.c.external_id == external_id, cl.c.canonical_id == old)
        ).scalar_one_or_none()
        evidence = [{"rule": "manual", "detail": f"unlinked by {actor}" + (f": {note}" if note else "")}]
        values = {"status": "unlinked", "decided_by": actor, "decided_at": now}
        if existing is None:
            conn.execute(
                cl.insert().values(
                    source=source,
                    external_id=external_id,
                    canonical_id=old,
                    method="manual",
                    evidence=evidence,
                    confidence=1.0,
                    created_at=now,
                    **values,
                )
            )
        else:
            conn.execute(cl.update().where(cl.c.id == existing).values(**values))
        conn.execute(
            cl.update()
            .where(cl.c.source == source, cl.c.external_id == external_id, cl.c.status.in_(("proposed", *IN_FORCE)))
            .values(status="superseded", decided_by=actor, decided_at=now)
        )
        details: dict[str, Any] = {"canonical_id": own, "previous": old}
        if moved_promises:
            details["repointed"] = {"promise": moved_promises}
        if note:
            details["note"] = note
        store.audit(conn, actor, "identity.unlink", "customer", rec.key, **details)
    return {"record": rec.key, "canonical_id": own, "previous": old, "was_linked": old != own}


def proposals(conn: sa.Connection, *, status: str = "proposed") -> list[dict[str, Any]]:
    """Link proposals (open ones by default), with both sides' names, strongest first."""
    cl, c = schema.customer_link, schema.customer
    names: dict[str, str] = {}
    rows = conn.execute(sa.select(cl).where(cl.c.status == status).order_by(cl.c.confidence.desc(), cl.c.id)).all()
    wanted = {r.canonical_id for r in rows}
    if wanted:
        for cid, name in conn.execute(
            sa.select(c.c.canonical_id, c.c.legal_name).where(c.c.canonical_id.in_(sorted(wanted))).order_by(c.c.id)
        ):
            names.setdefault(cid, name)
    record_names = (
        dict(
            ((s, e), n)
            for s, e, n in conn.execute(
                sa.select(c.c.source, c.c.external_id, c.c.legal_name).where(
                    sa.tuple_(c.c.source, c.c.external_id).in_([(r.source, r.external_id) for r in rows])
                )
            )
        )
        if rows
        else {}
    )
    return [
        {
            "id": r.id,
            "record": f"{r.source}:{r.external_id}",
            "record_name": record_names.get((r.source, r.external_id)),
            "canonical_id": r.canonical_id,
            "canonical_name": names.get(r.canonical_id),
            "method": r.method,
            "confidence": r.confidence,
            "evidence": r.evidence,
            "status": r.status,
            "created_at": r.created_at.isoformat() if r.created_at else None,
        }
        for r in rows
    ]


def _proposal(conn: sa.Connection, proposal_id: int) -> Any:
    cl = schema.customer_link
    row = conn.execute(sa.select(cl).where(cl.c.id == proposal_id)).first()
    if row is None:
        raise IdentityError(
            N_("no link proposal %(id)s ('hub customers proposals' lists them)"), values={"id": proposal_id}
        )
    if row.status != "proposed":
        raise IdentityError(
            N_("link %(id)s is %(status)s, not an open proposal"), values={"id": proposal_id, "status": row.status}
        )
    return row


def accept(store: Store, proposal_id: int, *, actor: str, master_source: str | None) -> dict[str, Any]:
    """Apply an open proposal (status ``applied``, decided by ``actor``); its rivals are superseded."""
    with store.begin() as conn:
        row = _proposal(conn, proposal_id)
        rec = _load_record(conn, row.source, row.external_id)
        if _unused(conn, row.canonical_id):
            raise IdentityError(
                N_("customer %(customer)s no longer exists; reject the proposal instead"),
                values={"customer": row.canonical_id},
            )
        previous = rec.canonical_id
        evidence = [*row.evidence, {"rule": "accepted", "detail": f"accepted by {actor}"}]
        _apply(
            store,
            conn,
            rec,
            _Candidate(row.canonical_id, row.method, row.confidence, evidence),
            status="applied",
            actor=actor,
            master_source=master_source,
            now=utcnow(),
        )
    return {"id": proposal_id, "record": rec.key, "canonical_id": row.canonical_id, "previous": previous}


def reject(store: Store, proposal_id: int, *, actor: str) -> dict[str, Any]:
    """Reject an open proposal: that pair is never proposed or linked automatically again."""
    cl = schema.customer_link
    with store.begin() as conn:
        row = _proposal(conn, proposal_id)
        conn.execute(
            cl.update().where(cl.c.id == proposal_id).values(status="rejected", decided_by=actor, decided_at=utcnow())
        )
        key = f"{row.source}:{row.external_id}"
        store.audit(
            conn,
            actor,
            "identity.reject",
            "customer",
            key,
            canonical_id=row.canonical_id,
            method=row.method,
            proposal=proposal_id,
        )
    return {"id": proposal_id, "record": key, "canonical_id": row.canonical_id}


def customers(
    conn: sa.Connection, *, master_source: str | None, unlinked: bool = False, limit: int | None = None
) -> list[dict[str, Any]]:
    """Customer records with their canonical id and how they got it.

    ``unlinked``: only records of other sources that are still their own customer (what resolution
    could not place, or a person unlinked).
    """
    c, cl = schema.customer, schema.customer_link
    query = sa.select(c.c.source, c.c.external_id, c.c.canonical_id, c.c.legal_name, c.c.country).order_by(
        c.c.canonical_id, c.c.source != (master_source or ""), c.c.source, c.c.external_id
    )
    if unlinked:
        query = query.where(c.c.source != (master_source or ""), c.c.canonical_id == c.c.source + ":" + c.c.external_id)
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).all()
    how: dict[tuple[str, str, str], tuple[str, str | None]] = {}
    opened: dict[tuple[str, str], int] = defaultdict(int)
    unlinked_keys: set[tuple[str, str]] = set()
    for source, ext, cid, status, how_linked in conn.execute(
        sa.select(cl.c.source, cl.c.external_id, cl.c.canonical_id, cl.c.status, cl.c.method)
    ):
        if status in IN_FORCE:
            how[(source, ext, cid)] = (status, how_linked)
        elif status == "proposed":
            opened[(source, ext)] += 1
        elif status == "unlinked":
            unlinked_keys.add((source, ext))
    out = []
    for r in rows:
        key = (r.source, r.external_id)
        state: str
        method: str | None
        if r.source == master_source and r.canonical_id == r.external_id:
            state, method = "master", None
        elif r.canonical_id == own_id(r.source, r.external_id, master_source):
            state, method = ("unlinked" if key in unlinked_keys else "own"), None
        else:
            state, method = how.get((r.source, r.external_id, r.canonical_id), ("linked", None))
        out.append(
            {
                "canonical_id": r.canonical_id,
                "source": r.source,
                "external_id": r.external_id,
                "name": r.legal_name,
                "country": r.country,
                "state": state,
                "method": method,
                "open_proposals": opened.get(key, 0),
            }
        )
    return out
