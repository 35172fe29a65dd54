"""What every command shares: the root application and its options, the hub session, printing
(tables, JSON, one-line failures) and parsing of dates and amounts.

Starting ``hub`` (its ``--help`` above all) must stay cheap, so this module and the command modules
import only typer, rich and the hub's light leaves (:mod:`hub.errors`, :mod:`hub.fmt`,
:mod:`hub.codes`, :mod:`hub.redact`) at import; the hub itself (config, store, engines) is loaded by
the command that runs. Commands reach the data only through :class:`hub.app.Hub` and its services,
never through SQLAlchemy or the store (``tests/test_layers.py`` keeps it so).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar, cast

import typer
from rich.console import Console
from rich.markup import escape

from hub import fmt
from hub.errors import HubError, LockBusy
from hub.redact import RedactingStream

if TYPE_CHECKING:
    from rich.table import Table

    from hub.app import Hub
    from hub.config import HubConfig

app = typer.Typer(
    help="Receivables integration hub: sync, reconcile, score and push.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Every line the command line prints passes through a stream that replaces registered secrets (a
# server may echo a token back in the error body that ends up in the final "error:" line).
out = Console(file=cast(IO[str], RedactingStream("stdout")))
err = Console(file=cast(IO[str], RedactingStream("stderr")), soft_wrap=True)  # one error, one line: never wrapped
F = TypeVar("F", bound=Callable[..., Any])

#: Exit code of a command whose job is already running elsewhere (sysexits' EX_TEMPFAIL): a
#: scheduler can tell "try again later" from a failure.
EXIT_BUSY = 75


class State:
    config_path: Path | None = None
    json: bool = False
    log_level: str | None = None
    wait: float | None = None


state = State()


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", envvar="HUB_CONFIG", help="Config file (default ./hub.toml).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON summaries.")] = False,
    log_level: Annotated[
        str | None, typer.Option(help="Log level: debug, info, warning, error (default: config's).")
    ] = None,
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait",
            min=0,
            help="Seconds to wait for the same job (sync of a connector, reconcile, risk...) running in another "
            "process, then give up with exit code 75 (default: the config's database.lock_wait_seconds).",
        ),
    ] = None,
) -> None:
    state.config_path = config
    state.json = json_output
    state.log_level = log_level
    state.wait = wait
    if os.environ.get("HUB_FAULTS") and ctx.invoked_subcommand:
        # The fault suite's kill points (hub.queue.faults) in a command run by hand or by cron: the
        # step is the command's name, ``HUB_FAULTS="push:commit:7"``. Unset, nothing is imported.
        from hub.queue import faults

        faults.install()
        faults.enter(ctx.invoked_subcommand)


# -- failing -----------------------------------------------------------------------------------------


def fail(message: str, code: int = 1) -> NoReturn:
    """End the command with one red line (secrets redacted) and a non-zero exit code."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def handled(fn: F) -> F:
    """Turn HubError (and any database error) into one red line and a non-zero exit code: 75 when
    the job is already running elsewhere, 1 otherwise."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LockBusy as exc:
            fail(str(exc), EXIT_BUSY)
        except HubError as exc:
            fail(str(exc))
        except Exception as exc:
            from hub.app import describe_failure  # only on the way out: the app is loaded by then

            line = describe_failure(exc)
            if line is None:
                raise  # a bug: the traceback is what a developer needs
            fail(line)

    return wrapper  # type: ignore[return-value]


# -- the hub -----------------------------------------------------------------------------------------


def load(required: bool = True) -> HubConfig:
    """The config named by ``--config`` (or ``HUB_CONFIG``, or ``./hub.toml``), with logging set up."""
    from hub.config import load_config
    from hub.log import configure_logging

    configure_logging(state.log_level or "warning")
    config = load_config(state.config_path, required=required)
    configure_logging(state.log_level or config.logging.level, config.logging.format)
    return config


def _waiting(job: str, holder: str | None) -> None:
    who = f" (held by {holder})" if holder else ""
    err.print(f"[yellow]waiting:[/yellow] {escape(job)} is already running{escape(who)}", highlight=False)


@contextmanager
def session() -> Iterator[Hub]:
    """The hub of the config in use, closed when the command is done; a job already running elsewhere
    is waited for (``--wait``) with one line saying so."""
    from hub.app import Hub

    hub = Hub(load(), lock_wait=state.wait, on_lock_wait=_waiting)
    try:
        yield hub
    finally:
        hub.close()


def actor(by: str | None) -> str:
    """Who acts: ``--by``, else ``$HUB_USER``, else the login name."""
    if by:
        return by
    import getpass

    try:
        return os.environ.get("HUB_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


By = Annotated[str | None, typer.Option("--by", help="Who acts (default: $HUB_USER or the login name).")]
Note = Annotated[str | None, typer.Option("--note", help="Why, for the audit log.")]


# -- progress ----------------------------------------------------------------------------------------


class _RichProgress:
    """Adapts rich's progress bar to the sync engine's Progress protocol (only on a terminal)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self.task: Any = None

    def start(self, label: str, total: int | None) -> None:
        self.progress.start()
        self.task = self.progress.add_task(label, total=total)

    def advance(self, n: int) -> None:
        self.progress.advance(self.task, n)

    def finish(self) -> None:
        self.progress.stop()


def progress_factory() -> Callable[[], _RichProgress] | None:
    """A progress bar maker for long jobs when a person watches (stderr is a terminal, no ``--json``)."""
    return _RichProgress if err.is_terminal and not state.json else None


# -- printing ----------------------------------------------------------------------------------------


def emit(data: Any, table: Table | None = None) -> None:
    """Print ``data`` as JSON with ``--json``, else the table (if any)."""
    if state.json:
        out.print_json(json.dumps(data, default=str))
    elif table is not None:
        out.print(table)


def table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    numeric: Sequence[str] = (),
    caption: str | None = None,
) -> Table:
    """A table of text cells; ``numeric`` columns (counts, amounts, seconds...) are right-aligned.

    Cells are printed as given: format numbers with :mod:`hub.fmt` first, so that every command
    writes money, counts and durations the same way.
    """
    from rich.table import Table

    right = set(numeric) | NUMERIC
    t = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for c in columns:
        t.add_column(c, justify="right" if c in right else "left")
    for r in rows:
        t.add_row(*[escape(str(x)) for x in r])
    return t


#: Columns right-aligned in every table.
NUMERIC = frozenset(
    {
        "read",
        "inserted",
        "updated",
        "unchanged",
        "quarantined",
        "closed",
        "count",
        "seconds",
        "value",
        "amount",
        "delivered",
        "failed",
        "dead",
        "not linked",
        "pending",
        "attempts",
    }
)


def shown(count: int, total: int) -> str:
    """``50 of 198`` when a listing stops short of everything (raise ``--limit``), else ``198``."""
    return f"{fmt.count(count)} of {fmt.count(total)}" if count < total else fmt.count(total)


def facts(title: str, rows: Sequence[tuple[str, Any]]) -> Table:
    """A two-column table of what a job did (``what`` / ``value``), values already formatted."""
    return table(title, ["what", "value"], [[k, v] for k, v in rows], numeric=["value"])


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {escape(message)}", highlight=False)


def error_line(message: str) -> None:
    """An error that does not end the command (one of several files failed)."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
    except OSError as exc:
        raise HubError(f"cannot write {path}: {exc.strerror}") from None


def check_choice(option: str, value: str | None, choices: Sequence[str]) -> None:
    """An option given one of its allowed values (or none), else one line naming the option."""
    if value is not None and value not in choices:
        raise HubError(f"{option} must be one of {', '.join(choices)}, got {value!r}")


def check_format(fmt: str) -> None:
    if fmt != "csv":
        raise HubError(f"unsupported format {fmt!r}; only csv")


# -- parsing -----------------------------------------------------------------------------------------


def parse_date(value: str | None, option: str = "--as-of") -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HubError(f"{option} must be an ISO date (YYYY-MM-DD), got {value!r}") from None


def parse_time(value: str | None, option: str = "--at") -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise HubError(
            f"{option} must be an ISO date or time (2024-03-05 or 2024-03-05T14:30+01:00), got {value!r}"
        ) from None


def parse_amount(value: str | None, option: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value.strip())
    except (InvalidOperation, ValueError):
        raise HubError(f"{option} must be an amount like 1250.00, got {value!r}") from None
    if not amount.is_finite():
        raise HubError(f"{option} must be an amount like 1250.00, got {value!r}")
    return amount


def short_time(iso_time: str) -> str:
    """``2024-02-02 08:30`` from an ISO time in UTC."""
    return iso_time[:16].replace("T", " ")
