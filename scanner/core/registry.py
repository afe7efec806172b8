"""Registries of extension points, with ``importlib.metadata`` entry points.

Connectors, remediation actions, detector types and export writers are each found through a
:class:`Registry`: the built-in elements register themselves when their module is imported (the
registry imports its built-in modules, by name, the first time it is read), and an installed
distribution adds elements with an entry point in the registry's group::

    [project.entry-points."sharescan.actions"]
    quarantine = "acme_sharescan.quarantine:Quarantine"

Loading the entry point imports its module; an element that did not register itself on import is
registered from what the entry point names (a class is instantiated). Each element carries its own
name and, where rules write it, its own schema (:func:`type_schema`), so the rule JSON Schema is
generated from the registry (Cloud Custodian's ``type_schema`` is the model). See
docs/ARCHITECTURE.md, "Where each kind of change goes".
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

GROUP_CONNECTORS = "sharescan.connectors"
GROUP_ACTIONS = "sharescan.actions"
GROUP_DETECTORS = "sharescan.detectors"
GROUP_WRITERS = "sharescan.writers"


def type_schema(name: str, value: dict[str, Any] | None = None, *, bare: bool = False) -> dict[str, Any]:
    """The JSON Schema of one element as a rule writes it: ``- name: value`` (``value`` is the value's
    schema; None: the key takes no value), and with ``bare`` also the plain string ``- name``."""
    value_schema = value if value is not None else {"enum": [True, None]}
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "required": [name],
                              "properties": {name: value_schema}}
    return {"name": name, "bare": bare or value is None, "schema": schema}


class Registry(Generic[T]):
    """Named elements of one kind: the built-ins and those of installed distributions' entry points."""

    def __init__(self, group: str, *, builtins: Sequence[str] = (),
                 name_of: Callable[[T], str] = lambda element: str(getattr(element, "name")),  # noqa: B009
                 instantiate: bool = True) -> None:
        """``instantiate``: an entry point naming a class registers an instance (False: the class itself,
        for registries of factories such as export writers)."""
        self.group = group
        self.instantiate = instantiate
        self.builtins = tuple(builtins)
        self._name_of = name_of
        self._elements: dict[str, T] = {}
        self._loaded = False
        self._lock = threading.RLock()

    def register(self, element: T) -> T:
        """Add (or replace) an element under its name; usable as a decorator on an instance or class."""
        name = self._name_of(element)
        if not name:
            raise ValueError(f"{self.group}: an element needs a name")
        with self._lock:
            self._elements[name] = element
        return element

    def unregister(self, name: str) -> None:
        with self._lock:
            self._elements.pop(name, None)

    def load(self, *, reload: bool = False) -> None:
        """Import the built-in modules and the group's entry points (once; ``reload`` reads them again)."""
        with self._lock:
            if self._loaded and not reload:
                return
            self._loaded = True
            for module in self.builtins:
                importlib.import_module(module)
            for ep in entry_points(group=self.group):
                try:
                    loaded = ep.load()
                except Exception as exc:  # a broken plugin must not hide the built-ins: say which
                    log.error("%s: entry point %s = %s failed to load: %s", self.group, ep.name, ep.value, exc)
                    continue
                if ep.name in self._elements:
                    continue  # it registered itself on import
                element = loaded() if isinstance(loaded, type) and self.instantiate else loaded
                if not getattr(element, "name", None):
                    log.error("%s: entry point %s names something without a name", self.group, ep.name)
                    continue
                self.register(element)

    def all(self) -> dict[str, T]:
        self.load()
        with self._lock:
            return dict(self._elements)

    def names(self) -> list[str]:
        return sorted(self.all())

    def get(self, name: str) -> T:
        found = self.all().get(name)
        if found is None:
            raise KeyError(f"no {self.group.removeprefix('sharescan.')} element named {name!r} "
                           f"(known: {', '.join(self.names()) or 'none'})")
        return found

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.all()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
