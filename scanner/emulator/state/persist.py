"""Save a workspace to JSON and load it back (content bytes as base64; lazy content stays lazy)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from .audit import AuditLog
from .labels import LabelStore
from .model import Change, DriveFile, Event, NativeContent, Permission, Revision, SharedDrive, User
from .policies import PolicyStore
from .workspace import Workspace

FORMAT = 1


def _perm(p: Permission) -> dict[str, Any]:
    return {k: getattr(p, k) for k in Permission.__slots__}  # type: ignore[attr-defined]


def _native(n: NativeContent | None) -> dict[str, Any] | None:
    if n is None:
        return None
    return {"text": n.text, "sheets": [[t, rows] for t, rows in n.sheets], "slides": n.slides}


def dump(ws: Workspace) -> dict[str, Any]:
    files = []
    for f in ws.files.values():
        files.append({
            "id": f.id, "name": f.name, "mime_type": f.mime_type, "created_time": f.created_time,
            "modified_time": f.modified_time, "owner": f.owner, "parents": f.parents, "drive_id": f.drive_id,
            "trashed": f.trashed, "permissions": [_perm(p) for p in f.permissions],
            "content": base64.b64encode(f.content).decode() if f.content is not None else None,
            "native": _native(f.native), "lazy": list(f.lazy) if f.lazy else None, "version": f.version,
            "revisions": [{k: getattr(r, k) for k in Revision.__slots__} for r in f.revisions],  # type: ignore
            "shortcut_target": f.shortcut_target, "last_modifier": f.last_modifier,
            "description": f.description, "inherited_permissions_disabled": f.inherited_permissions_disabled,
        })
    return {
        "format": FORMAT, "org_name": ws.org_name, "domain": ws.domain, "customer_id": ws.customer_id,
        "domains": ws.domains, "domain_aliases": ws.domain_aliases,
        "report_descendant_changes": ws.report_descendant_changes,
        "users": [{k: getattr(u, k) for k in User.__slots__} for u in ws.users.values()],  # type: ignore
        "groups": [{"email": g.email, "name": g.name, "members": g.members} for g in ws.groups.values()],
        "drives": [{"id": d.id, "name": d.name, "created_time": d.created_time,
                    "members": [_perm(m) for m in d.members], "domain_users_only": d.domain_users_only,
                    "drive_members_only": d.drive_members_only, "hidden": d.hidden} for d in ws.drives.values()],
        "files": files,
        "changes": [{"seq": c.seq, "time": c.time, "file_id": c.file_id, "drive_id": c.drive_id,
                     "change_type": c.change_type, "before": sorted(c.before), "removed": c.removed}
                    for c in ws.changes],
        "events": [e.to_json() for e in ws.events],
        "audit": ws.audit.dump(), "policies": ws.policies.dump(), "labels": ws.labels.dump(),
    }


def load(data: dict[str, Any]) -> Workspace:
    if data.get("format") != FORMAT:
        raise ValueError(f"unsupported emulator state format {data.get('format')!r}")
    ws = Workspace(org_name=data["org_name"], domain=data["domain"], customer_id=data["customer_id"],
                   domains=list(data["domains"]), domain_aliases=dict(data.get("domain_aliases") or {}),
                   report_descendant_changes=bool(data.get("report_descendant_changes", True)))
    for u in data["users"]:
        ws.users[u["email"]] = User(**u)
    for g in data["groups"]:
        ws.add_group(g["email"], g["name"], g["members"])
    for d in data["drives"]:
        ws.add_drive(SharedDrive(id=d["id"], name=d["name"], created_time=d["created_time"],
                                 members=[Permission(**m) for m in d["members"]],
                                 domain_users_only=d["domain_users_only"],
                                 drive_members_only=d["drive_members_only"], hidden=d["hidden"]))
    for f in data["files"]:
        native = f["native"]
        ws.add_file(DriveFile(
            id=f["id"], name=f["name"], mime_type=f["mime_type"], created_time=f["created_time"],
            modified_time=f["modified_time"], owner=f["owner"], parents=list(f["parents"]),
            drive_id=f["drive_id"], trashed=f["trashed"], permissions=[Permission(**p) for p in f["permissions"]],
            content=base64.b64decode(f["content"]) if f["content"] is not None else None,
            native=NativeContent(text=native["text"], sheets=[(t, rows) for t, rows in native["sheets"]],
                                 slides=native["slides"]) if native else None,
            lazy=(f["lazy"][0], int(f["lazy"][1])) if f["lazy"] else None, version=f["version"],
            revisions=[Revision(**r) for r in f["revisions"]], shortcut_target=f["shortcut_target"],
            last_modifier=f["last_modifier"], description=f["description"],
            inherited_permissions_disabled=bool(f.get("inherited_permissions_disabled", False))))
    ws.changes = [Change(seq=c["seq"], time=c["time"], file_id=c["file_id"], drive_id=c["drive_id"],
                         change_type=c["change_type"], before=frozenset(c["before"]), removed=c["removed"])
                  for c in data["changes"]]
    ws.events = [Event(time=e["time"], kind=e["kind"], actor=e["actor"], file_id=e["fileId"],
                       before=e["before"], after=e["after"]) for e in data["events"]]
    ws.audit = AuditLog.load(data.get("audit", {}))
    ws.policies = PolicyStore.load(data.get("policies", {}))
    ws.labels = LabelStore.load(data.get("labels", {}))
    return ws


def save_file(ws: Workspace, path: str | Path) -> None:
    Path(path).write_text(json.dumps(dump(ws)), encoding="utf-8")


def load_file(path: str | Path) -> Workspace:
    result: Workspace = load(json.loads(Path(path).read_text(encoding="utf-8")))
    return result
