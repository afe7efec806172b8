"""Who can read a file's content: a member of its shared drive, its owner, then the admin subject.

Shared-drive members are looked up once per drive (and the active users once) per instance; the
instance is safe to share between fetch threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from scanner.connectors.google import directory
from scanner.connectors.google.client import GoogleClients
from scanner.core.errors import GoogleApiError


class ContentReaders:
    """``for_file(file)``: the identities to try, in order, to export or download the file."""

    def __init__(self, settings: Any, clients: GoogleClients, org_domains: frozenset[str]) -> None:
        self.settings = settings
        self.clients = clients
        self.org_domains = org_domains
        self._members: dict[str, str | None] = {}
        self._active: set[str] | None = None
        self._lock = threading.Lock()

    def for_file(self, file: Any) -> Iterator[str]:
        seen: set[str] = set()
        candidates: list[str | None] = []
        if file.drive_id:
            candidates.append(self._member(file.drive_id))
        candidates += [file.owner_email, self.settings.google.admin_subject]
        for c in candidates:
            if c and c.lower() not in seen:
                seen.add(c.lower())
                yield c

    def _member(self, drive_id: str) -> str | None:
        with self._lock:  # held while reading: two fetch threads meeting one drive look it up once
            if drive_id not in self._members:
                try:
                    if self._active is None:
                        self._active = {u.email.lower() for u in directory.list_users(self.clients, self.settings)
                                        if u.skip_reason is None}
                    self._members[drive_id] = directory.find_member(self.clients, self.settings, drive_id,
                                                                    self._active, self.org_domains)
                except GoogleApiError:
                    self._members[drive_id] = None
            return self._members[drive_id]
