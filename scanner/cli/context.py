"""The state the root command hands to every subcommand, and the ``pass_app`` decorator."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:  # the App (SQLAlchemy) is imported when a command first needs it, not for --help
    from scanner.app import App

F = TypeVar("F", bound=Callable[..., Any])


def default_actor() -> str:
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


#: The audit log's actor column holds at most this many characters.
MAX_ACTOR_LENGTH = 320


def validate_actor(value: str) -> str:
    """An actor name from ``--actor``/``$SHARESCAN_ACTOR``: printable, one line, at most 320 characters."""
    actor = value.strip()
    if not actor:
        raise ValueError("the actor is empty (e.g. --actor alice@example.org)")
    if len(actor) > MAX_ACTOR_LENGTH:
        raise ValueError(f"the actor is {len(actor)} characters long (at most {MAX_ACTOR_LENGTH})")
    if not actor.isprintable():
        raise ValueError("the actor holds control characters")
    return actor


class State:
    """What the root group passes to commands via ``ctx.obj``."""

    def __init__(self, config: str | None, verbose: int, debug: bool, *, actor: str | None = None) -> None:
        self.config_path = config
        self.verbose = verbose
        self.debug = debug
        self.actor = actor or default_actor()
        self._app: App | None = None

    @property
    def app(self) -> App:
        if self._app is None:
            from scanner.app import App
            from scanner.config import load_settings

            self._app = App(load_settings(self.config_path), actor=self.actor)
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


def get_state(ctx: click.Context) -> State:
    state = ctx.find_object(State)
    if state is None:
        state = State(None, 0, False)
        ctx.obj = state
    return state


def pass_app(func: F) -> F:
    """Call the command with the App (settings loaded lazily, errors reported by main)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        return func(get_state(ctx).app, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
