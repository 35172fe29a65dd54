"""Who may use the web console and the REST API: users, browser sessions, API tokens, login throttling,
and the change notices systems push in through signed webhooks.

* **Users** have one or more roles (:data:`ROLES`); their passwords are kept as argon2id hashes
  (argon2-cffi's ``PasswordHasher``, its defaults: RFC 9106's second recommended parameter set).
* **Sessions**: the browser holds a random id in a cookie; the store keeps only its SHA-256, the
  user, a CSRF token for the session's forms, and when it ends (``[web] session_hours`` after login,
  or ``idle_minutes`` after its last request). Disabling a user or changing a password ends their
  sessions.
* **API tokens** (``hub_`` and 43 random characters) are shown once when made; the store keeps their
  SHA-256 (a token is 256 random bits, so a fast hash is safe where a password needs argon2), the
  scopes (roles) they carry, who made them, when they were last used, and when they were revoked.
* **Throttling**: every login is recorded; after ``login_max_failures`` failures of one user name,
  or from one address, within ``login_window_minutes``, logins are refused until the oldest of
  those failures leaves the window (even with the right password, so guessing cannot go on).
* **Webhook notices**: a signed call from a CRM or a bank is stored once per signature (a replay is
  refused) and marked handled by the next sync of that connector.

Every change is audited in its transaction with the person (or token) who made it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa

from hub.errors import AccessError, HubError, NotFoundError
from hub.i18n import N_
from hub.store import Store, schema, utcnow

#: The roles a user (or a token) can have: what each may do is in ``docs/web-api.md``.
ROLES = ("finance", "credit", "sales", "viewer", "admin")
TOKEN_PREFIX = "hub_"
#: How often a session's last-seen time is written (not on every request).
TOUCH_EVERY = dt.timedelta(seconds=60)


@cache
def _argon2() -> Any:
    """argon2-cffi's PasswordHasher (imported when a password is checked, not by every sync)."""
    from argon2 import PasswordHasher

    return PasswordHasher()


def _verify(hashed: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_argon2().verify(hashed, password))
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Account:
    """Who is acting: a signed-in user, or a program with a token (``kind``)."""

    name: str
    display_name: str
    roles: tuple[str, ...]
    locale: str | None = None
    kind: str = "user"  # user | token
    csrf_token: str | None = None
    """The session's CSRF token (browser sessions only)."""

    @property
    def actor(self) -> str:
        """The name the audit log records: the user's, or ``token:NAME``."""
        return self.name if self.kind == "user" else f"token:{self.name}"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_roles(roles: Sequence[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(r.strip().lower() for r in roles if r.strip()))
    if not wanted:
        raise HubError(N_("give at least one role (%(roles)s)"), values={"roles": ", ".join(ROLES)})
    unknown = [r for r in wanted if r not in ROLES]
    if unknown:
        raise HubError(
            N_("unknown role %(role)s; roles are %(roles)s"), values={"role": unknown[0], "roles": ", ".join(ROLES)}
        )
    return wanted


def check_password(password: str) -> None:
    if len(password) < 10:
        raise HubError(N_("a password needs at least 10 characters"))


def _check_name(name: str) -> str:
    clean = name.strip()
    if not clean or len(clean) > 100 or any(c.isspace() for c in clean) or clean.startswith("token:"):
        raise HubError(N_("a name is 1-100 characters without spaces, got %(name)r"), values={"name": name})
    return clean


# -- users ------------------------------------------------------------------------------------------


def _user_dict(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "display_name": row.display_name,
        "roles": list(row.roles or []),
        "locale": row.locale,
        "disabled": bool(row.disabled),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def add_user(
    store: Store,
    name: str,
    password: str,
    roles: Sequence[str],
    *,
    actor: str,
    display_name: str | None = None,
    locale: str | None = None,
) -> dict[str, Any]:
    """A new user with these roles and an argon2 hash of the password (audited)."""
    clean = _check_name(name)
    wanted = check_roles(roles)
    check_password(password)
    now = utcnow()
    u = schema.web_user
    with store.begin() as conn:
        if conn.execute(sa.select(u.c.id).where(u.c.name == clean)).first() is not None:
            raise HubError(N_("there is already a user %(name)s"), values={"name": clean})
        conn.execute(
            u.insert().values(
                name=clean,
                display_name=(display_name or clean).strip() or clean,
                password_hash=_argon2().hash(password),
                roles=list(wanted),
                locale=locale,
                disabled=False,
                created_at=now,
                updated_at=now,
            )
        )
        store.audit(conn, actor, "user.add", "user", clean, roles=list(wanted), locale=locale)
        row = conn.execute(sa.select(u).where(u.c.name == clean)).one()
    return _user_dict(row)


def users(conn: sa.Connection) -> list[dict[str, Any]]:
    u = schema.web_user
    return [_user_dict(r) for r in conn.execute(sa.select(u).order_by(u.c.name))]


def _user_row(conn: sa.Connection, name: str) -> Any:
    u = schema.web_user
    row = conn.execute(sa.select(u).where(u.c.name == name)).first()
    if row is None:
        raise NotFoundError(N_("there is no user %(name)s"), values={"name": name})
    return row


def update_user(
    store: Store,
    name: str,
    *,
    actor: str,
    password: str | None = None,
    roles: Sequence[str] | None = None,
    disabled: bool | None = None,
    locale: str | None = None,
    display_name: str | None = None,
) -> dict[str, Any]:
    """Change a user's password, roles, state, language or shown name (audited; never the hash in the log).

    A new password or disabling ends the user's sessions."""
    u, s = schema.web_user, schema.web_session
    values: dict[str, Any] = {}
    changed: dict[str, Any] = {}
    if password is not None:
        check_password(password)
        values["password_hash"] = _argon2().hash(password)
        changed["password"] = "changed"
    if roles is not None:
        values["roles"] = changed["roles"] = list(check_roles(roles))
    if disabled is not None:
        values["disabled"] = changed["disabled"] = disabled
    if locale is not None:
        values["locale"] = changed["locale"] = locale or None
    if display_name is not None and display_name.strip():
        values["display_name"] = changed["display_name"] = display_name.strip()
    with store.begin() as conn:
        row = _user_row(conn, name)
        if values:
            values["updated_at"] = utcnow()
            conn.execute(u.update().where(u.c.id == row.id).values(**values))
            if password is not None or disabled:
                conn.execute(s.delete().where(s.c.user_id == row.id))
            store.audit(conn, actor, "user.update", "user", name, **changed)
        return _user_dict(conn.execute(sa.select(u).where(u.c.id == row.id)).one())


# -- logins and sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Throttle:
    max_failures: int
    window: dt.timedelta


def _failures_since(conn: sa.Connection, column: sa.ColumnElement[Any], value: str, since: dt.datetime) -> list[Any]:
    a = schema.login_attempt
    return list(
        conn.execute(
            sa.select(a.c.at)
            .where(column == value, a.c.at > since, a.c.success.is_(False))
            .order_by(a.c.at.desc())
            .limit(1000)
        ).scalars()
    )


def throttled_for(conn: sa.Connection, name: str, ip: str, throttle: Throttle, now: dt.datetime) -> dt.timedelta | None:
    """How long logins of ``name`` or from ``ip`` are still refused, or None when they are not."""
    a = schema.login_attempt
    since = now - throttle.window
    waits = []
    for column, value in ((a.c.user_name, name), (a.c.ip, ip)):
        failures = _failures_since(conn, column, value, since)
        if len(failures) >= throttle.max_failures:
            # refused until the failure that made the count reach the limit ages out of the window
            oldest_counted = failures[throttle.max_failures - 1]
            if oldest_counted.tzinfo is None:
                oldest_counted = oldest_counted.replace(tzinfo=dt.UTC)
            waits.append(oldest_counted + throttle.window - now)
    return max(waits) if waits else None


def _minutes(wait: dt.timedelta) -> int:
    return max(1, int(-(-wait.total_seconds() // 60)))


def login(store: Store, name: str, password: str, *, ip: str, throttle: Throttle) -> Account:
    """The user whose name and password these are, with the attempt recorded; :class:`AccessError`
    (``not_authenticated``, or ``throttled`` saying how long to wait) otherwise."""
    now = utcnow()
    u, a = schema.web_user, schema.login_attempt
    clean = name.strip()[:100]
    with store.begin() as conn:
        wait = throttled_for(conn, clean, ip, throttle, now)
        row = conn.execute(sa.select(u).where(u.c.name == clean)).first()
        ok = False
        if wait is not None:  # refused without looking at the password (recorded, not counted again)
            store.audit(conn, clean or "-", "login.throttled", "user", clean, ip=ip)
        elif row is not None and not row.disabled:
            ok = _verify(row.password_hash, password)
            if ok and _argon2().check_needs_rehash(row.password_hash):
                conn.execute(u.update().where(u.c.id == row.id).values(password_hash=_argon2().hash(password)))
        else:  # the same work as a real check, so a missing user cannot be told by the time it takes
            _dummy_verify(password)
        if wait is None:
            conn.execute(a.insert().values(at=now, user_name=clean, ip=ip[:64], success=ok))
            if not ok:
                store.audit(conn, clean or "-", "login.failed", "user", clean, ip=ip)
    if wait is not None:
        raise AccessError(
            N_("too many failed logins; try again in %(minutes)s minutes"),
            values={"minutes": _minutes(wait)},
            code="throttled",
        )
    if not ok or row is None:
        # (committed above: the failure must count even though this raises)
        raise AccessError(N_("wrong user name or password"), code="not_authenticated")
    return Account(row.name, row.display_name, tuple(row.roles or ()), row.locale)


_DUMMY_HASH: str | None = None


def _dummy_verify(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _argon2().hash(secrets.token_urlsafe(16))
    _verify(_DUMMY_HASH, password)


def start_session(store: Store, name: str, *, ip: str, lifetime: dt.timedelta) -> tuple[str, str]:
    """A new browser session for user ``name``: the id for the cookie (only its hash is stored) and its CSRF token."""
    now = utcnow()
    u, s = schema.web_user, schema.web_session
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with store.begin() as conn:
        row = _user_row(conn, name)
        conn.execute(s.delete().where(s.c.expires_at < now))  # housekeeping: expired sessions
        conn.execute(
            s.insert().values(
                id_hash=sha256(session_id),
                user_id=row.id,
                csrf_token=csrf,
                created_at=now,
                last_seen_at=now,
                expires_at=now + lifetime,
                ip=ip[:64],
            )
        )
        store.audit(conn, name, "login", "user", name, ip=ip)
    del u
    return session_id, csrf


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def session_account(store: Store, session_id: str, *, idle: dt.timedelta) -> Account | None:
    """The user of a live session (not expired, not idle too long, user not disabled), or None."""
    if not session_id or len(session_id) > 200:
        return None
    now = utcnow()
    u, s = schema.web_user, schema.web_session
    key = sha256(session_id)
    with store.connect() as conn:
        row = conn.execute(
            sa.select(s.c.last_seen_at, s.c.expires_at, s.c.csrf_token, u.c.name, u.c.display_name, u.c.roles)
            .add_columns(u.c.locale, u.c.disabled)
            .join(u, u.c.id == s.c.user_id)
            .where(s.c.id_hash == key)
        ).first()
    if row is None or row.disabled:
        return None
    last_seen = _aware(row.last_seen_at)
    if _aware(row.expires_at) <= now or last_seen + idle <= now:
        return None
    if now - last_seen > TOUCH_EVERY:
        with store.begin() as conn:
            conn.execute(s.update().where(s.c.id_hash == key).values(last_seen_at=now))
    return Account(row.name, row.display_name, tuple(row.roles or ()), row.locale, "user", row.csrf_token)


def end_session(store: Store, session_id: str) -> None:
    s, u = schema.web_session, schema.web_user
    key = sha256(session_id)
    with store.begin() as conn:
        name = conn.execute(
            sa.select(u.c.name).join(s, s.c.user_id == u.c.id).where(s.c.id_hash == key)
        ).scalar_one_or_none()
        if conn.execute(s.delete().where(s.c.id_hash == key)).rowcount and name:
            store.audit(conn, name, "logout", "user", name)


# -- API tokens -------------------------------------------------------------------------------------


def _token_dict(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "prefix": row.prefix,
        "scopes": list(row.scopes or []),
        "created_by": row.created_by,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
        "revoked_by": row.revoked_by,
    }


def create_token(
    store: Store, name: str, scopes: Sequence[str], *, actor: str, expires_at: dt.datetime | None = None
) -> tuple[str, dict[str, Any]]:
    """A new API token carrying these roles: the token itself (shown once, never stored) and its record."""
    clean = _check_name(name)
    wanted = check_roles(scopes)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    t = schema.api_token
    now = utcnow()
    with store.begin() as conn:
        if conn.execute(sa.select(t.c.id).where(t.c.name == clean)).first() is not None:
            raise HubError(N_("there is already a token %(name)s"), values={"name": clean})
        conn.execute(
            t.insert().values(
                name=clean,
                prefix=token[:10],
                token_hash=sha256(token),
                scopes=list(wanted),
                created_by=actor,
                created_at=now,
                expires_at=expires_at,
            )
        )
        store.audit(conn, actor, "token.create", "api_token", clean, scopes=list(wanted))
        row = conn.execute(sa.select(t).where(t.c.name == clean)).one()
    return token, _token_dict(row)


def tokens(conn: sa.Connection) -> list[dict[str, Any]]:
    t = schema.api_token
    return [_token_dict(r) for r in conn.execute(sa.select(t).order_by(t.c.name))]


def revoke_token(store: Store, name: str, *, actor: str) -> dict[str, Any]:
    t = schema.api_token
    now = utcnow()
    with store.begin() as conn:
        row = conn.execute(sa.select(t).where(t.c.name == name)).first()
        if row is None:
            raise NotFoundError(N_("there is no token %(name)s"), values={"name": name})
        if row.revoked_at is None:
            conn.execute(t.update().where(t.c.id == row.id).values(revoked_at=now, revoked_by=actor))
            store.audit(conn, actor, "token.revoke", "api_token", name)
        return _token_dict(conn.execute(sa.select(t).where(t.c.id == row.id)).one())


def token_account(store: Store, token: str) -> Account | None:
    """The program a bearer token belongs to (not revoked, not expired), its last use recorded; or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    t = schema.api_token
    now = utcnow()
    with store.connect() as conn:
        row = conn.execute(sa.select(t).where(t.c.token_hash == sha256(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and _aware(row.expires_at) <= now:
        return None
    if row.last_used_at is None or now - _aware(row.last_used_at) > TOUCH_EVERY:
        with store.begin() as conn:
            conn.execute(t.update().where(t.c.id == row.id).values(last_used_at=now))
    return Account(row.name, row.name, tuple(row.scopes or ()), None, "token")


# -- webhook notices --------------------------------------------------------------------------------


def record_notice(
    store: Store,
    connector: str,
    *,
    signature: str,
    signed_at: dt.datetime,
    event_type: str | None,
    payload: Any,
) -> int:
    """Store a signed change notice once; the same signature again is refused as a replay (``AccessError``)."""
    w = schema.webhook_notice
    now = utcnow()
    with store.begin() as conn:
        seen = conn.execute(sa.select(w.c.id).where(w.c.connector == connector, w.c.signature == signature)).first()
        if seen is not None:
            raise AccessError(N_("this webhook call was received before (a replay)"), code="replayed")
        inserted = conn.execute(
            w.insert().values(
                connector=connector,
                signature=signature,
                signed_at=signed_at,
                received_at=now,
                event_type=(event_type or None) and str(event_type)[:200],
                payload=payload,
            )
        ).inserted_primary_key
        assert inserted is not None
        notice_id = int(inserted[0])
        store.audit(conn, f"webhook:{connector}", "webhook.notice", "connector", connector, notice=notice_id)
    return notice_id


def pending_notices(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    """Per connector: how many change notices wait for its next sync, and since when."""
    w = schema.webhook_notice
    rows = conn.execute(
        sa.select(w.c.connector, sa.func.count(), sa.func.min(w.c.received_at))
        .where(w.c.handled_at.is_(None))
        .group_by(w.c.connector)
    )
    return {name: {"count": int(n), "since": since} for name, n, since in rows}


def handle_notices(store: Store, connector: str, *, before: dt.datetime) -> int:
    """Mark the notices of ``connector`` received before ``before`` handled (its sync has read the changes)."""
    w = schema.webhook_notice
    with store.begin() as conn:
        return int(
            conn.execute(
                w.update()
                .where(w.c.connector == connector, w.c.handled_at.is_(None), w.c.received_at <= before)
                .values(handled_at=utcnow())
            ).rowcount
        )


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature a webhook caller sends: hex HMAC-SHA256 of ``timestamp + "." + body`` with the shared secret."""
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: dt.datetime, max_age: dt.timedelta
) -> dt.datetime:
    """When a webhook call was signed, if its signature is right and it is recent; :class:`AccessError` if not.

    ``timestamp`` is Unix seconds; a call signed more than ``max_age`` ago, or as far ahead, is refused
    (with the seen signatures kept longer than that, a replay is refused either way)."""
    try:
        seconds = int(timestamp.strip())
        signed_at = dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise AccessError(N_("X-Hub-Timestamp must be Unix seconds"), code="bad_signature") from None
    given = signature.strip().lower().removeprefix("sha256=")
    if not hmac.compare_digest(sign(secret, timestamp.strip(), body), given):
        raise AccessError(N_("the webhook signature does not match"), code="bad_signature")
    if abs(now - signed_at) > max_age:
        raise AccessError(
            N_("the webhook call was signed %(seconds)s seconds from now; at most %(max)s are accepted"),
            values={"seconds": int(abs((now - signed_at).total_seconds())), "max": int(max_age.total_seconds())},
            code="stale",
        )
    return signed_at
