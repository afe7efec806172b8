"""``synthetic:USERS:FILES[:SEED]``: a generated domain of any size, deterministic by seed.

Content is not stored: each file carries ``lazy=(kind, seed)`` and :func:`generate_lazy` rebuilds the
same bytes (or native document) whenever it is read. Listings ask for every binary file's ``size`` and
``md5Checksum``: :func:`lazy_digest` derives both without building the file (a few shared bodies per
kind, each file ending with its own tag), so the emulator serves the crawler's request at listing speed.
"""

from __future__ import annotations

import functools
import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..state.audit import ANONYMOUS, Audience
from ..state.model import DOC, FOLDER, SHEET, SLIDES, DriveFile, NativeContent, SharedDrive
from ..state.policies import EXTERNAL_SHARING, GENERAL_ACCESS_DEFAULT
from ..state.workspace import Workspace
from .builder import anyone_perm, domain_perm, drive_id, file_id, user_perm

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
# (mime, kind, extension, weight)
MIMES = [
    (DOC, "doc", "", 25), (SHEET, "sheet", "", 15), (SLIDES, "slides", "", 5), ("application/pdf", "pdf", ".pdf", 8),
    (DOCX, "docx", ".docx", 8), (XLSX, "xlsx", ".xlsx", 4), (PPTX, "pptx", ".pptx", 2), ("text/csv", "csv", ".csv", 10),
    ("text/plain", "txt", ".txt", 15), (FOLDER, "folder", "", 8),
]
FIRST = ["Ana", "Ben", "Chloe", "Dev", "Eva", "Femi", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena", "Mo", "Nia",
         "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tara", "Uma", "Vik", "Wen", "Yara", "Zed"]
LAST = ["Adler", "Brooks", "Costa", "Duarte", "Ekwueme", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski",
        "Larsen", "Moreau", "Nakamura", "Okoro", "Petrov", "Quispe", "Rossi", "Silva", "Tanaka"]
WORDS = ["quarterly", "plan", "notes", "draft", "budget", "review", "labels", "batch", "export", "summary",
         "meeting", "guidelines", "roadmap", "retro", "invoice", "report", "dataset", "audit", "survey", "brief"]
BENIGN = ["The team met to discuss the labelling backlog and agreed to prioritise calibration.",
          "Throughput improved after the new review queue went live.",
          "Remember to file expenses before the end of the month.",
          "The style guide was updated with examples of edge cases."]


@dataclass(frozen=True)
class SyntheticSpec:
    users: int
    files: int
    seed: int = 0
    domain: str = "synthlabs.example"
    public_share: float = 0.01
    anyone_share: float = 0.05
    external_user_share: float = 0.03
    external_domain_share: float = 0.02
    domain_share: float = 0.10
    internal_share: float = 0.20
    sensitive_share: float = 0.05
    shared_drive_share: float = 0.10


def _roster_rows(rng: random.Random, n: int) -> list[list[Any]]:
    rows: list[list[Any]] = [["Name", "Email", "Phone", "Hourly rate (USD)"]]
    for _ in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append([f"{first} {last}", f"{first}.{last}{rng.randint(1, 99)}@gmail.com".lower(),
                     f"+1 415 555 {rng.randint(100, 999):04d}", round(rng.uniform(15, 45), 2)])
    return rows


def _text(rng: random.Random, sensitive: bool) -> str:
    if sensitive:
        return "Contractor roster\n" + "\n".join(", ".join(str(c) for c in r) for r in _roster_rows(rng, 6))
    return "\n".join(rng.choice(BENIGN) for _ in range(rng.randint(2, 6)))


@functools.lru_cache(maxsize=512)
def generate_lazy(kind: str, seed: int) -> bytes | NativeContent:
    """Rebuild a synthetic file's content; `kind` is ``<type>`` or ``<type>:s`` (sensitive).

    Google-native kinds get a document of their own; binary kinds are one of a few bodies per kind
    followed by a tag unique to the file (see :func:`lazy_digest`).
    """
    base, _, flag = kind.partition(":")
    sensitive = flag == "s"
    if base not in NATIVE_KINDS:
        body, _ = _binary_body(base, sensitive, _variant(base, seed))
        return body + _tag(base, seed)
    rng = random.Random(seed)
    if base == "doc":
        return NativeContent(text=_text(rng, sensitive))
    if base == "sheet":
        rows: list[list[Any]] = (_roster_rows(rng, 8) if sensitive
                                 else [["Week", "Items"], *[[f"W{i}", rng.randint(1, 999)] for i in range(1, 9)]])
        return NativeContent(sheets=[("Sheet1", rows)])
    return NativeContent(slides=[_text(rng, sensitive), "Thank you"])


NATIVE_KINDS = frozenset({"doc", "sheet", "slides"})
#: Binary bodies per (kind, sensitivity): few enough to build once per process, many enough that
#: neighbouring files differ (Office documents, slow to build, have fewer). Each file appends its own
#: tag, so no two files share bytes or md5.
BODY_VARIANTS = 8
ZIP_BODY_VARIANTS = 3
TAG_LENGTH = 16
ZIP_KINDS = frozenset({"docx", "xlsx", "pptx"})


def _variant(base: str, seed: int) -> int:
    return seed % (ZIP_BODY_VARIANTS if base in ZIP_KINDS else BODY_VARIANTS)


def _tag(base: str, seed: int) -> bytes:
    """The file's own last bytes: where each format tolerates trailing text (a zip archive comment,
    a PDF comment after ``%%EOF``, a last line of text or CSV)."""
    tag = f"{seed & 0xFFFFFFFFFFFFFFFF:016x}".encode()
    if base in ZIP_KINDS:
        return tag
    return tag + (b"\r\n" if base == "csv" else b"\n")


@functools.cache
def _binary_body(base: str, sensitive: bool, variant: int) -> tuple[bytes, Any]:
    """(bytes before the file's tag, md5 state over them), built once per process."""
    rng = random.Random(f"{base}:{int(sensitive)}:{variant}")
    text = _text(rng, sensitive)
    body: bytes
    if base == "csv":
        rows: list[list[Any]] = _roster_rows(rng, 8) if sensitive else [["item", "count"], ["a", 1], ["b", 2]]
        body = ("\r\n".join(",".join(str(c) for c in r) for r in rows) + "\r\nref,").encode()
    elif base == "pdf":
        from ..pdf import text_pdf

        body = text_pdf(text) + b"%"
    elif base in ZIP_KINDS:
        from ..office import docx_bytes, pptx_bytes, xlsx_bytes

        if base == "docx":
            archive = docx_bytes(text.split("\n"))
        elif base == "xlsx":
            archive = xlsx_bytes([("Sheet1", _roster_rows(rng, 8) if sensitive else [["a", 1], ["b", 2]])])
        else:
            archive = pptx_bytes([text])
        # the end-of-central-directory record closes the archive with a 2-byte comment length
        assert archive[-22:-18] == b"PK\x05\x06" and archive[-2:] == b"\x00\x00"
        body = archive[:-2] + TAG_LENGTH.to_bytes(2, "little")
    else:  # txt and anything else plain
        body = (text + "\nref ").encode()
    return body, hashlib.md5(body, usedforsecurity=False)


@functools.lru_cache(maxsize=1 << 18)
def lazy_digest(kind: str, seed: int) -> tuple[int, str]:
    """Size and md5 of a binary synthetic file without building it: the body's md5 state is shared
    by every file of its variant, only the file's tag is hashed. Equal to ``generate_lazy``'s bytes."""
    base, _, flag = kind.partition(":")
    body, state = _binary_body(base, flag == "s", _variant(base, seed))
    tag = _tag(base, seed)
    digest = state.copy()
    digest.update(tag)
    return len(body) + len(tag), digest.hexdigest()


def _time(rng: random.Random) -> str:
    return (f"20{rng.randint(23, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.000Z")


def build(spec: SyntheticSpec) -> Workspace:
    rng = random.Random(spec.seed)
    ns = f"synth{spec.seed}"
    ws = Workspace(org_name="Synth Labs", domain=spec.domain)
    emails: list[str] = []
    for i in range(max(spec.users, 1)):
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
        email = "admin@" + spec.domain if i == 0 else f"{first}.{last}{i}@{spec.domain}".lower()
        ws.add_user(email, f"{first} {last}", is_admin=i == 0, suspended=(i == 3 and spec.users > 10))
        emails.append(email)
    active = [e for e in emails if not ws.users[e].suspended]
    drives: list[str] = []
    for d in range(max(1, spec.users // 10)):
        did = drive_id(ns, str(d))
        members = [user_perm(ws, e, rng.choice(["organizer", "writer", "reader"]))
                   for e in rng.sample(active, min(len(active), 5))]
        members[0].role = "organizer"
        ws.add_drive(SharedDrive(id=did, name=f"Team drive {d}", created_time=_time(rng), members=members))
        drives.append(did)
    kinds = [m for m in MIMES]
    weights = [m[3] for m in MIMES]
    folders_by_owner: dict[str, list[str]] = {}
    folders_by_drive: dict[str, list[str]] = {}
    thresholds = [spec.public_share, spec.anyone_share, spec.external_user_share, spec.external_domain_share,
                  spec.domain_share, spec.internal_share]
    cumulative = [sum(thresholds[:i + 1]) for i in range(len(thresholds))]
    choices = rng.choices(kinds, weights=weights, k=spec.files)
    for i in range(spec.files):
        mime, kind, ext, _ = choices[i]
        fid = file_id(ns, str(i))
        in_drive = rng.random() < spec.shared_drive_share
        owner: str | None = None
        drive: str | None = None
        if in_drive:
            drive = drives[rng.randrange(len(drives))]
            pool = folders_by_drive.setdefault(drive, [])
            parents = [pool[rng.randrange(len(pool))]] if pool and rng.random() < 0.5 else [drive]
        else:
            owner = active[rng.randrange(len(active))]
            pool = folders_by_owner.setdefault(owner, [])
            parents = [pool[rng.randrange(len(pool))]] if pool and rng.random() < 0.3 else []
        perms = []
        r = rng.random()
        if r < cumulative[0]:
            perms.append(anyone_perm(discover=True))
        elif r < cumulative[1]:
            perms.append(anyone_perm())
        elif r < cumulative[2]:
            perms.append(user_perm(ws, f"{rng.choice(FIRST).lower()}.{rng.randint(1, 999)}@gmail.com", "reader"))
        elif r < cumulative[3]:
            perms.append(domain_perm(f"partner{rng.randint(1, 20)}.example.net"))
        elif r < cumulative[4]:
            perms.append(domain_perm(spec.domain, discover=rng.random() < 0.5))
        elif r < cumulative[5]:
            perms.append(user_perm(ws, active[rng.randrange(len(active))], rng.choice(["reader", "writer"])))
        sensitive = rng.random() < spec.sensitive_share
        created = _time(rng)
        name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {i}{ext}"
        f = DriveFile(id=fid, name=name, mime_type=mime, created_time=created, modified_time=created, owner=owner,
                      parents=parents, drive_id=drive, permissions=perms, last_modifier=owner,
                      lazy=None if mime == FOLDER else (kind + (":s" if sensitive else ""), spec.seed * 1_000_003 + i))
        ws.add_file(f)
        if mime == FOLDER:
            if drive:
                folders_by_drive[drive].append(fid)
            elif owner:
                folders_by_owner[owner].append(fid)
    _posture(ws)
    _history(ws, spec, datetime.now(UTC))
    return ws


#: Synthetic users are spread over these org units (round robin); see :func:`_posture`.
ORG_UNITS = ("/", "/Engineering", "/Sales", "/Contractors")


def _posture(ws: Workspace) -> None:
    """Drive sharing posture at scale: the root allows external sharing and links, ``/Contractors``
    keeps links and publishing on, ``/Sales`` shares with allowlisted domains only."""
    for i, user in enumerate(ws.users.values()):
        user.org_unit = ORG_UNITS[i % len(ORG_UNITS)]
    store = ws.policies
    for unit in ORG_UNITS:
        store.ensure_unit(unit)
    store.allowlisted_domains = [f"partner{n}.example.net" for n in range(1, 6)]
    store.set(EXTERNAL_SHARING, {"externalSharingMode": "ALLOWED", "allowPublishingFiles": True,
                                 "warnForExternalSharing": True, "allowReceivingExternalFiles": True})
    store.set(EXTERNAL_SHARING, {"allowPublishingFiles": True, "warnForExternalSharing": False},
              org_unit="/Contractors")
    store.set(EXTERNAL_SHARING, {"externalSharingMode": "ALLOWLISTED_DOMAINS", "allowPublishingFiles": False},
              org_unit="/Sales")
    store.set(GENERAL_ACCESS_DEFAULT, {"defaultFileAccess": "PRIMARY_AUDIENCE_WITH_LINK"}, org_unit="/Contractors")


def _history(ws: Workspace, spec: SyntheticSpec, now: datetime) -> None:
    """Plausible audit history at a small cost: half of the files shared beyond the domain got their
    sharing event at some point in the last 400 days (so some before the 180-day retention), and link-
    shared files were opened by anonymous viewers or outside accounts now and then. A generator of its
    own, so the files stay exactly what the seed made them."""
    rng = random.Random(spec.seed * 7919 + 17)
    internal = {d.lower() for d in ws.domains}
    log = ws.audit
    with log.bulk():
        for f in ws.files.values():
            exposing = [p for p in f.permissions if p.type == "anyone" or (
                p.type in ("user", "group") and (p.email or "").rsplit("@", 1)[-1] not in internal) or (
                p.type == "domain" and (p.domain or "").lower() not in internal)]
            if not exposing or rng.random() < 0.5:
                continue
            perm = exposing[0]
            audience = Audience.of(perm)
            visibility = str(audience.visibility(frozenset(internal)))
            after = {"type": perm.type, "role": perm.role, "emailAddress": perm.email, "domain": perm.domain,
                     "allowFileDiscovery": perm.allow_file_discovery}
            age = rng.uniform(1, 400)
            log.record_sharing(ws, f.id, f.owner or "", before=None, after=after, time=now - timedelta(days=age),
                               old_visibility="private", visibility=visibility)
            if perm.type != "anyone":
                continue
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                seen = rng.uniform(0, min(age, 180))
                who = ANONYMOUS if rng.random() < 0.7 else f"{rng.choice(FIRST).lower()}.{rng.randint(1, 99)}@gmail.com"
                log.record_access(ws, f.id, "download" if rng.random() < 0.3 else "view", who,
                                  time=now - timedelta(days=seen), visibility=visibility, history=True)
