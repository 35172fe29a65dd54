"""The ``hub`` command line (typer). Every command has ``--help``; failures exit non-zero with one line.

Commands live in modules by group (:mod:`hub.cli.jobs`, :mod:`hub.cli.matches`, ...) and act only
through :class:`hub.app.Hub` and its services. Plugins add commands through the ``hub.commands``
entry-point group (:mod:`hub.cli.commands`); what they use to read the same config and print, fail
and report progress the same way as the built-in commands is exported here, and is stable:

``session()`` (the hub of the config in use), ``load()`` (that config alone), ``emit(data, table)``
(JSON with ``--json``, else the table), ``table(title, columns, rows)``, ``handled(fn)`` (errors as
one line and an exit code), ``fail(message)``, ``warn(message)``, ``progress_factory()``,
``actor(by)``, ``state`` (``json``, ``config_path``), the consoles ``out`` and ``err``, and
``EXIT_BUSY``.
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
import threading
from collections.abc import Sequence

from hub.cli.common import (
    EXIT_BUSY,
    By,
    Note,
    actor,
    app,
    emit,
    err,
    error_line,
    fail,
    handled,
    load,
    out,
    progress_factory,
    session,
    state,
    table,
    warn,
)

__all__ = [
    "EXIT_BUSY",
    "By",
    "Note",
    "actor",
    "app",
    "emit",
    "entry",
    "err",
    "error_line",
    "fail",
    "handled",
    "load",
    "main",
    "out",
    "progress_factory",
    "session",
    "state",
    "table",
    "warn",
]

_core_registered = False
#: The core's command modules, in the order ``hub --help`` lists their commands.
COMMAND_MODULES = (
    "jobs",
    "diagnostics",
    "demo",
    "matches",
    "exposure",
    "outbox",
    "collection",
    "comms",
    "cases",
    "limits",
    "customers",
    "bureau",
    "report",
    "web",
    "worker",
)


def register_core_commands() -> None:
    """Add the core's commands, group by group, in the order ``hub --help`` lists them; once."""
    global _core_registered
    if _core_registered:
        return
    _core_registered = True
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"hub.cli.{name}")
        register = getattr(module, "register", None)
        if register is not None:  # (the others' commands register on ``app`` as they are defined)
            register(app)


def main(argv: Sequence[str] | None = None) -> None:
    from hub.cli.commands import register_plugin_commands

    args = list(sys.argv[1:] if argv is None else argv)
    register_core_commands()
    register_plugin_commands(app, args)
    # ``--json`` belongs to ``hub`` itself; accept it after the command too (``hub plugins --json``).
    if "--json" in args[1:] and "--" not in args:
        args = ["--json", *(a for a in args if a != "--json")]
    app(args=args)


def entry() -> None:
    """The ``hub`` command: :func:`main`, then a quick exit.

    Why: tearing the interpreter down (freeing every module and object one at a time) takes about a
    tenth of a second after the work is done and its output written. The exit functions still run
    (logging, multiprocessing, temporary directories), other threads are waited for, and the hub has
    closed its database connections; only that teardown is skipped.
    """
    try:
        main()
        code: int = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # a message: printed as the interpreter would
            print(exc.code, file=sys.stderr)
            code = 1
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
