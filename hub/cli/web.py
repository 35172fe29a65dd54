"""``hub serve`` (the web console and REST API), ``hub users ...`` and ``hub tokens ...`` (``docs/web-api.md``)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer

from hub.cli.common import By, actor, emit, fail, handled, load as load_config, out, session, state, table

ROLES = ("finance", "credit", "sales", "viewer", "admin")
RoleOpt = Annotated[
    list[str],
    typer.Option("--role", help=f"A role (repeat for several): {', '.join(ROLES)}."),
]


def _password(from_stdin: bool, *, confirm: bool = True) -> str:
    if from_stdin:
        text = sys.stdin.readline().rstrip("\r\n")
        if not text:
            fail("no password on standard input")
        return text
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=confirm))


def _when(value: dt.datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


# -- hub serve -------------------------------------------------------------------------------------------


@handled
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback by default; put a TLS proxy in front).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web console and the REST API (OpenAPI at /openapi.json, docs at /api/docs)."""
    import uvicorn

    from hub.app import Hub
    from hub.web.app import create_app

    config = load_config()
    hub = Hub(config)
    hub.store.check_ready()
    if host not in ("127.0.0.1", "::1", "localhost") and not config.web.secure_cookies:
        fail("[web] secure_cookies = false is for plain http on loopback only; listen on 127.0.0.1")
    scheme = "https" if config.web.secure_cookies else "http"
    out.print(f"hub console: {scheme}://{host}:{port}/  (API docs: /api/docs)", highlight=False)
    if config.web.secure_cookies:
        out.print(
            "session cookies are Secure: use HTTPS in front, or set [web] secure_cookies = false for "
            "plain http on loopback",
            highlight=False,
        )
    try:
        uvicorn.run(create_app(hub), host=host, port=port, log_level="warning", proxy_headers=False)
    finally:
        hub.close()


# -- hub users --------------------------------------------------------------------------------------------

users_app = typer.Typer(help="People who log in to the console and the API.", no_args_is_help=True)


@users_app.command("add")
@handled
def users_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: RoleOpt,
    display_name: Annotated[str | None, typer.Option("--display-name", help="Name shown in the console.")] = None,
    locale: Annotated[
        str | None, typer.Option("--locale", help="Language: en or zh_CN (default: the browser's).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    by: By = None,
) -> None:
    """Add a user with one or more roles (the first: hub users add admin --role admin)."""
    password = _password(password_stdin)
    with session() as hub:
        user = hub.users.add(name, password, role, actor=actor(by), display_name=display_name, locale=locale)
    if state.json:
        emit(user)
    else:
        out.print(f"user {user['name']} added with roles {', '.join(user['roles'])}", highlight=False)


@users_app.command("list")
@handled
def users_list() -> None:
    """Every user, their roles and state."""
    with session() as hub:
        found = hub.users.list()
    emit(
        {"users": found},
        table(
            f"users ({len(found)})",
            ["name", "display name", "roles", "locale", "state", "updated"],
            [
                [
                    u["name"],
                    u["display_name"],
                    ", ".join(u["roles"]),
                    u["locale"] or "",
                    "disabled" if u["disabled"] else "active",
                    _when(u["updated_at"]),
                ]
                for u in found
            ],
        ),
    )


@users_app.command("passwd")
@handled
def users_passwd(
    name: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    by: By = None,
) -> None:
    """Set a user's password (their sessions end)."""
    password = _password(password_stdin)
    with session() as hub:
        hub.users.update(name, actor=actor(by), password=password)
    out.print(f"password of {name} changed; their sessions ended")


@users_app.command("roles")
@handled
def users_roles(name: Annotated[str, typer.Argument(help="Login name.")], role: RoleOpt, by: By = None) -> None:
    """Replace a user's roles."""
    with session() as hub:
        user = hub.users.update(name, actor=actor(by), roles=role)
    out.print(f"{name}: {', '.join(user['roles'])}")


@users_app.command("disable")
@handled
def users_disable(
    name: Annotated[str, typer.Argument(help="Login name.")],
    enable: Annotated[bool, typer.Option("--enable", help="Enable the user again instead.")] = False,
    by: By = None,
) -> None:
    """Disable a user (their sessions end; they cannot log in), or enable them again."""
    with session() as hub:
        hub.users.update(name, actor=actor(by), disabled=not enable)
    out.print(f"{name} {'enabled' if enable else 'disabled'}")


# -- hub tokens -------------------------------------------------------------------------------------------

tokens_app = typer.Typer(help="API tokens for programs calling the REST API.", no_args_is_help=True)


@tokens_app.command("create")
@handled
def tokens_create(
    name: Annotated[str, typer.Argument(help="What the token is for (e.g. erp-sync).")],
    scope: Annotated[
        list[str], typer.Option("--scope", help=f"A role the token carries (repeat): {', '.join(ROLES)}.")
    ],
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="Expires after this many days (default: never).")
    ] = None,
    by: By = None,
) -> None:
    """Make a token; it is printed once and only its hash is kept."""
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days) if days else None
    with session() as hub:
        token, record = hub.tokens.create(name, scope, actor=actor(by), expires_at=expires)
    if state.json:
        emit({"token": token, **record})
        return
    out.print(f"token {record['name']} ({', '.join(record['scopes'])}); shown once, keep it now:", highlight=False)
    print(token)


@tokens_app.command("list")
@handled
def tokens_list() -> None:
    """Every token: scopes, who made it, last use, revoked or not (never the token)."""
    with session() as hub:
        found = hub.tokens.list()
    emit(
        {"tokens": found},
        table(
            f"API tokens ({len(found)})",
            ["name", "starts", "scopes", "created by", "last used", "expires", "revoked"],
            [
                [
                    t["name"],
                    t["prefix"] + "...",
                    ", ".join(t["scopes"]),
                    t["created_by"],
                    _when(t["last_used_at"]),
                    _when(t["expires_at"]),
                    _when(t["revoked_at"]),
                ]
                for t in found
            ],
        ),
    )


@tokens_app.command("revoke")
@handled
def tokens_revoke(name: Annotated[str, typer.Argument(help="The token's name.")], by: By = None) -> None:
    """Revoke a token: every request with it is refused from now on."""
    with session() as hub:
        hub.tokens.revoke(name, actor=actor(by))
    out.print(f"token {name} revoked")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
