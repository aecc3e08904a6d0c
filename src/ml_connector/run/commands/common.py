"""What every command shares: the global options, one way to print, one way to fail.

Every failure (a bad config file, a refused credential, an unknown connection, a host that does
not answer, and a bug) ends as one red line on stderr and a documented exit code, never a
traceback: the people running these commands are finance admins and schedulers, not Python
developers. The traceback goes to the log at debug level (`--log-level debug`), and to the screen
with `--debug`. Under `--json` the failure is also one JSON object on stdout,
``{"ok": false, "error": "...", "exit_code": N}``, so a script always has one object to parse.
Exit code 2 means "what you gave us is wrong" (a file, a name, a missing key); 1 means "we tried
and something failed"; docs/cli.md lists the others (3 and 4, from `sync`).
"""

from __future__ import annotations

import functools
import inspect
import io
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TextIO, TypeVar, cast

import pydantic
import structlog
import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

from ml_connector.context import (
    DATABASE_ENV,
    HOME_ENV,
    KEY_FILE_ENV,
    Runtime,
    default_database_url,
    default_home,
    default_key_file,
    open_runtime,
)
from ml_connector.errors import ConfigError, ConnectorError
from ml_connector.flow.mapping import MappingError
from ml_connector.input_files import InputFileError
from ml_connector.observability import configure_logging
from ml_connector.remote.explain import describe_failure
from ml_connector.remote.http.redact import default_redactor
from ml_connector.store import KEY_ENV_VAR, NotFoundInStoreError
from ml_connector.store.db import normalize_url

P = ParamSpec("P")
R = TypeVar("R")

LOG_LEVEL_ENV = "ML_CONNECTOR_LOG_LEVEL"
DEBUG_ENV = "ML_CONNECTOR_DEBUG"
_log = structlog.get_logger(__name__)
USAGE_EXIT = 2
PIPED_WIDTH = 200
FAILURE_EXIT = 1

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object instead of tables (for scripts).")
]


NameArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="NAME", help="Connection name, e.g. acme-us (or -c NAME).", show_default=False
    ),
]
ConnectionFlag = Annotated[
    str | None,
    typer.Option(
        "--connection",
        "-c",
        help="Connection name (instead of the NAME argument).",
        show_default=False,
    ),
]


def connection_name(name: str | None, flag: str | None) -> str:
    """The connection named by the NAME argument or by -c/--connection (one of them)."""
    if name and flag and name != flag:
        fail(f"two connections named: {name!r} and -c {flag!r}; give one", code=USAGE_EXIT)
    chosen = name or flag
    if not chosen:
        fail("name the connection: NAME or -c NAME (`ml-connector connection list`)", code=2)
    return chosen


@dataclass(frozen=True)
class GlobalOptions:
    """`--db` and `--key-file` as given before the command name (None: the context.py default),
    and `--debug` (tracebacks on screen)."""

    database_url: str | None = None
    key_file: Path | None = None
    debug: bool = False


def installed_version() -> str:
    try:
        return package_version("ml-connector")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ml-connector {installed_version()}")
        raise typer.Exit(0)


def reflow_help(text: str) -> str:
    """Help text with the docstring's line breaks inside a paragraph removed.

    Typer's rich help keeps every newline of a docstring, so a docstring wrapped at 100 columns
    breaks sentences in the middle on any other terminal width. Paragraphs (blank-line separated)
    and bullet lines ("- ", "* ", "· ") stay; rich wraps the rest to the terminal.
    """
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", inspect.cleandoc(text)):
        lines: list[str] = []
        for line in paragraph.splitlines():
            stripped = line.strip()
            if lines and not re.match(r"^(?:[-*•·]|\d+\.)\s", stripped):
                lines[-1] = f"{lines[-1]} {stripped}"
            else:
                lines.append(line.rstrip())
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def reflow_app_help(app: typer.Typer) -> None:
    """`reflow_help` on every command and group of ``app`` (sub-apps included)."""
    if isinstance(app.info.help, str):
        app.info.help = reflow_help(app.info.help)
    for command in app.registered_commands:
        text = command.help if isinstance(command.help, str) else inspect.getdoc(command.callback)
        if text:
            command.help = reflow_help(text)
    for group in app.registered_groups:
        if isinstance(group.help, str):
            group.help = reflow_help(group.help)
        if group.typer_instance is not None:
            reflow_app_help(group.typer_instance)
    callback = app.registered_callback
    if callback is not None and isinstance(callback.help, str):
        callback.help = reflow_help(callback.help)


def global_callback(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar=DATABASE_ENV,
            help="Database URL (default: SQLite in $ML_CONNECTOR_HOME). "
            "Example: --db postgresql://ml@db.internal/ml_connector",
            show_envvar=True,
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            envvar=KEY_FILE_ENV,
            help="Master key file, mode 0600 (ignored when ML_CONNECTOR_MASTER_KEY is set).",
            show_envvar=True,
        ),
    ] = None,
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level",
            envvar=LOG_LEVEL_ENV,
            help="Log level of the log lines written to stderr (debug, info, warning, error).",
            show_envvar=True,
        ),
    ] = "warning",
    log_json: Annotated[
        bool, typer.Option("--log-json", help="Write log lines as JSON (for log shippers).")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar=DEBUG_ENV,
            help="On a failure, print the traceback before the one-line error, and log at debug "
            "level (overrides --log-level). For reporting a bug.",
            show_envvar=True,
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the installed version and exit.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
) -> None:
    # Logs go to stderr so that stdout carries only what a command prints (tables or --json).
    try:
        configure_logging(
            json=log_json,
            level="debug" if debug else log_level,
            redactor=default_redactor,
            stream=cast(TextIO, _Stderr()),
        )
    except ValueError as exc:
        fail(f"--log-level: {exc}", code=USAGE_EXIT)
    ctx.obj = GlobalOptions(database_url=db, key_file=key_file, debug=debug)


class _Stderr(io.TextIOBase):
    """Whatever ``sys.stderr`` is at write time (test runners swap it per invocation)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def global_options(ctx: typer.Context) -> GlobalOptions:
    """The root options, wherever in the command tree ``ctx`` is."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, GlobalOptions) else GlobalOptions()


@contextmanager
def runtime(ctx: typer.Context, *, require_key: bool = False) -> Iterator[Runtime]:
    """The store for this invocation, closed when the command ends."""
    options = global_options(ctx)
    url = options.database_url or default_database_url()
    parsed = normalize_url(url)  # a URL the store cannot open: one line, exit 2
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(str(parsed.database))
        if not database.is_file():
            # Never create an empty second store (with its own key) next to the real one.
            raise ConfigError(f"no database at {database}: {not_initialised_hint()}")
    key_file = options.key_file or default_key_file()
    if require_key and not os.environ.get(KEY_ENV_VAR, "").strip() and not key_file.exists():
        raise ConfigError(
            f"no master key: {KEY_ENV_VAR} is unset and there is no key file at {key_file}; "
            + not_initialised_hint()
        )
    rt = open_runtime(url, key_file=options.key_file, require_key=require_key)
    try:
        yield rt
    finally:
        rt.close()


def not_initialised_hint() -> str:
    """Where we looked and why there, so "run init" never makes a second, empty store."""
    configured = os.environ.get(HOME_ENV, "").strip()
    if configured:
        where = f"{HOME_ENV} is {configured}"
    else:
        where = f"{HOME_ENV} is unset, so the home is the per-user folder {default_home()}"
    return (
        f"{where}. Set {HOME_ENV} (or --db / --key-file) to the folder you initialised, or run "
        "`ml-connector init` to create a new store there"
    )


def safe_url(url: str) -> str:
    """A database URL fit to print: the password (if any) masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is printed as a placeholder rather than leaked
        return "<unparsable database URL>"


def out() -> Console:
    """A console bound to the current stdout (created per call so test runners can capture it).

    Piped output (a file, ``grep``, a CI log) gets wide tables: wrapped ids cannot be searched.
    """
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else PIPED_WIDTH)


def err() -> Console:
    return Console(stderr=True, soft_wrap=True)


@dataclass
class _Invocation:
    """The command running now, as `guard_app` saw its parameters."""

    ctx: typer.Context | None
    as_json: bool
    connection: str | None
    json_printed: bool = False


_INVOCATION: ContextVar[_Invocation | None] = ContextVar("ml_connector_invocation", default=None)

# typer.Exit/Abort end a command on purpose; typer.TyperException is the base of click's usage
# errors (bad option values), which typer prints as its usage box with exit code 2.
_PASS_THROUGH = (typer.Exit, typer.Abort, typer.TyperException)


def json_requested() -> bool:
    """Whether the running command was given ``--json`` (its ``as_json`` parameter)."""
    invocation = _INVOCATION.get()
    return invocation is not None and invocation.as_json


def debug_requested() -> bool:
    """Whether ``--debug`` (or ML_CONNECTOR_DEBUG) was given to this invocation."""
    invocation = _INVOCATION.get()
    if invocation is not None and invocation.ctx is not None:
        obj = invocation.ctx.find_root().obj
        if isinstance(obj, GlobalOptions):
            return obj.debug
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def print_json(obj: Any) -> None:
    """One JSON object on one line: plain text, no colours, so scripts can parse it."""
    typer.echo(default_redactor.text(json.dumps(obj, default=str, sort_keys=True)))
    invocation = _INVOCATION.get()
    if invocation is not None:
        invocation.json_printed = True


def fail(message: str, *, code: int = FAILURE_EXIT) -> NoReturn:
    """One red line on stderr, then exit: the only way commands report an error.

    Under ``--json``, and when the command has not printed its object yet, stdout also gets
    ``{"ok": false, "error": message, "exit_code": code}``."""
    text = default_redactor.text(message)
    invocation = _INVOCATION.get()
    if invocation is not None and invocation.as_json and not invocation.json_printed:
        print_json({"ok": False, "error": text, "exit_code": code})
    err().print(f"[bold red]error:[/bold red] {escape(text)}", highlight=False)
    raise typer.Exit(code)


def validation_lines(error: pydantic.ValidationError, source: str) -> list[str]:
    """Each pydantic problem as ``source: field.path: message`` (inputs are never echoed)."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"{source}: {where}: {problem['msg']}")
    return lines


def _fail_after(exc: BaseException, message: str, code: int) -> NoReturn:
    """The traceback to the log (debug level) and, with --debug, to stderr; then `fail`."""
    _log.debug("command.failed", error=type(exc).__name__, exc_info=exc)
    # --debug sets the log level to debug, so the log line above carries the traceback; print
    # it only when logging was not configured that way (an embedding caller, a test).
    if debug_requested() and not logging.getLogger(__name__).isEnabledFor(logging.DEBUG):
        shown = "".join(traceback.format_exception(exc))
        sys.stderr.write(default_redactor.text(shown))
        sys.stderr.flush()
    fail(message, code=code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Every exception of ``func`` as one clear red line and an exit code (never a traceback).

    2 for what the user gave (configuration, mapping files, names), 1 for everything else, a
    remote failure in the plain words of `remote.explain.describe_failure` and an unexpected
    exception (a bug) by its type and text. `typer.Exit` and click's own errors pass through.
    `ml_connector.run.cli` wraps every command in it, so nothing escapes to typer's handler.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except _PASS_THROUGH:
            raise
        except MappingError as exc:
            _fail_after(exc, "; ".join(exc.problems), USAGE_EXIT)
        except pydantic.ValidationError as exc:
            _fail_after(exc, "; ".join(validation_lines(exc, exc.title)), USAGE_EXIT)
        except (ConfigError, NotFoundInStoreError, InputFileError) as exc:
            _fail_after(exc, str(exc), USAGE_EXIT)
        except ConnectorError as exc:
            invocation = _INVOCATION.get()
            named = invocation.connection if invocation is not None else None
            sentence = describe_failure(exc, connection=named)
            _fail_after(exc, sentence, FAILURE_EXIT)
        except OperationalError as exc:
            # The driver's own text names host and database, never the password; libpq puts
            # its hint on a second line, which would break the one-line rule.
            reason = "; ".join(line.strip() for line in str(exc.orig).splitlines() if line.strip())
            _fail_after(exc, f"cannot use the database: {reason}", FAILURE_EXIT)
        except Exception as exc:
            detail = str(exc).splitlines()[0][:300] if str(exc) else ""
            _fail_after(
                exc,
                f"unexpected failure ({type(exc).__name__}{': ' + detail if detail else ''}); "
                "run again with --debug to see the traceback, and report it",
                FAILURE_EXIT,
            )

    return wrapper


def _guarded(func: Callable[P, R]) -> Callable[P, R]:
    handled = handle_errors(func)

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        ctx = next((a for a in (*args, *kwargs.values()) if isinstance(a, typer.Context)), None)
        named = kwargs.get("connection") or kwargs.get("name")
        invocation = _Invocation(
            ctx=ctx,
            as_json=kwargs.get("as_json") is True,
            connection=named if isinstance(named, str) else None,
        )
        token = _INVOCATION.set(invocation)
        try:
            return handled(*args, **kwargs)
        finally:
            _INVOCATION.reset(token)

    wrapper._guarded = True  # type: ignore[attr-defined]
    return wrapper


def guard_app(app: typer.Typer) -> None:
    """Every command of ``app`` (sub-apps included) inside `handle_errors`, with its ``--json``
    flag, connection name and context known to `fail`: so a failure no command module
    anticipated still ends as one line (and one JSON object under ``--json``)."""
    for command in app.registered_commands:
        if command.callback is not None and not getattr(command.callback, "_guarded", False):
            command.callback = _guarded(command.callback)
    root = app.registered_callback
    if root is not None and callable(root.callback) and not getattr(root.callback, "_guarded", 0):
        root.callback = _guarded(root.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            guard_app(group.typer_instance)


def age(since: datetime, now: datetime | None = None) -> str:
    """How long ago, in the two largest units ("3d 4h", "12m"): easier to scan than timestamps."""
    moment = since if since.tzinfo else since.replace(tzinfo=UTC)
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
