"""The emulator's own control API under /_emulator/ (counters, events, faults, mutations, state, audit
history, settings)."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from .errors import ApiError, bad_request
from .faults import FaultPlan, FaultRule
from .handlers.common import Request, Response
from .state import mutate, persist
from .state.audit import ANONYMOUS, parse_time
from .state.mutate import MutationError
from .state.workspace import Workspace

if TYPE_CHECKING:
    from .server import Emulator


def _mutate(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    ws = emu.workspace
    op = body.get("op")
    file_id = str(body.get("fileId", ""))
    actor = str(body.get("actor") or (ws.files[file_id].owner if file_id in ws.files else None) or "system")
    with ws.lock:
        if op == "share":
            perm = mutate.make_permission(ws, body.get("permission") or {})
            mutate.add_permission(ws, file_id, actor, perm)
            return {"permissionId": perm.id}
        if op == "unshare":
            mutate.delete_permission(ws, file_id, str(body.get("permissionId")), actor)
            return {}
        if op == "edit":
            content = base64.b64decode(body["contentBase64"]) if "contentBase64" in body else None
            mutate.edit_content(ws, file_id, actor, text=body.get("text"), content=content, name=body.get("name"))
            return {}
        if op in ("trash", "untrash"):
            mutate.set_trashed(ws, file_id, actor, op == "trash")
            return {}
        if op == "delete":
            mutate.delete_file(ws, file_id, actor)
            return {}
        if op == "limited_access":
            mutate.set_limited_access(ws, file_id, actor, bool(body.get("enabled", True)))
            return {}
        if op in ("publish", "unpublish"):
            f = mutate.get_file(ws, file_id)
            rev_id = str(body.get("revisionId") or (f.revisions[-1].id if f.revisions else ""))
            mutate.set_published(ws, file_id, rev_id, actor, published=op == "publish",
                                 published_outside_domain=bool(body.get("publishedOutsideDomain", op == "publish")))
            return {}
    raise bad_request(f"unknown mutate op {op!r}")


def append_audit(ws: Workspace, body: dict[str, Any]) -> int:
    """``POST /_emulator/audit``: append Drive audit activities (access events and back-dated sharing).

    ``{"access": [{"fileId", "name": "view|download|copy|edit|preview|print", "actor": email or
    "anonymous", "time"?: RFC 3339, "ip"?, "visibility"?}], "sharing": [{"fileId", "actor", "before"?,
    "after"?: permission resources, "time": RFC 3339, "oldVisibility"?, "visibility"?}], "editors": [{"fileId",
    "actor", "time", "oldValue": "writers", "newValue": "owner"}]}``
    """
    count = 0
    for item in body.get("access", []):
        when = parse_time(item["time"]) if item.get("time") else None
        ws.audit.record_access(ws, str(item["fileId"]), str(item["name"]), str(item.get("actor") or ANONYMOUS),
                               time=when, ip=item.get("ip"), visibility=item.get("visibility"),
                               history=when is not None)
        count += 1
    for item in body.get("editors", []):
        ws.audit.record_editors_change(ws, str(item["fileId"]), str(item["actor"]), time=parse_time(item["time"]),
                                       old=str(item["oldValue"]), new=str(item["newValue"]))
        count += 1
    for item in body.get("sharing", []):
        count += len(ws.audit.record_sharing(ws, str(item["fileId"]), str(item["actor"]), before=item.get("before"),
                                             after=item.get("after"), time=parse_time(item["time"]),
                                             old_visibility=item.get("oldVisibility"),
                                             visibility=item.get("visibility")))
    return count


def handle(emu: Emulator, req: Request) -> Response:
    name = req.path[len("/_emulator/"):].strip("/")
    try:
        body = req.json() if req.method == "POST" else {}
        if req.method == "GET" and name == "health":
            return Response.json({"ok": True, "endpoint": emu.base_url})
        if req.method == "GET" and name == "counters":
            return Response.json({"counters": emu.counters})
        if req.method == "POST" and name == "reset-counters":
            emu.reset_counters()
            return Response.json({})
        if req.method == "GET" and name == "events":
            return Response.json({"events": emu.events})
        if name == "faults":
            if req.method == "POST":
                emu.set_faults(FaultPlan([FaultRule.from_json(r) for r in body.get("rules", [])],
                                         seed=int(body.get("seed", 0))))
            return Response.json({"rules": [r.to_json() for r in emu.faults.rules]})
        if name == "changes-mode":
            # {"report_descendant_changes": false}: a folder's sharing change lists the folder alone
            if req.method == "POST":
                with emu.workspace.lock:
                    emu.workspace.report_descendant_changes = bool(body["report_descendant_changes"])
            return Response.json({"report_descendant_changes": emu.workspace.report_descendant_changes})
        if req.method == "POST" and name == "expire-tokens":
            return Response.json({"expired": emu.expire_tokens()})
        if req.method == "POST" and name == "mutate":
            return Response.json(_mutate(emu, body))
        if name == "state":
            if req.method == "POST":
                emu.replace_workspace(persist.load(body))
                return Response.json({})
            with emu.workspace.lock:
                return Response(200, json.dumps(persist.dump(emu.workspace)).encode(),
                                {"Content-Type": "application/json"})
        if req.method == "GET" and name == "service-account":
            return Response.json(emu.service_account_info())
        if req.method == "POST" and name == "audit":
            with emu.workspace.lock:
                return Response.json({"appended": append_audit(emu.workspace, body)})
        if name == "settings":
            if req.method == "POST" and "reportsLagSeconds" in body:
                emu.settings.reports_lag_seconds = float(body["reportsLagSeconds"])
            return Response.json({"reportsLagSeconds": emu.settings.reports_lag_seconds,
                                  "exportLimit": emu.settings.export_limit})
    except MutationError as exc:
        raise ApiError(exc.code, exc.reason, exc.message) from exc
    except (KeyError, ValueError, TypeError) as exc:
        raise bad_request(f"bad control request: {exc}") from exc
    raise ApiError(404, "notFound", f"No such emulator control endpoint: {req.method} {req.path}")
