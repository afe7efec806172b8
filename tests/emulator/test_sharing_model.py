"""Contract tests for the parts of Drive's sharing model remediation relies on: folders with limited
access, forms' responder permissions, expiry dates, the Changes feed for folder sharing changes, and the
Directory's domains and domain aliases — through the real googleapiclient."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from googleapiclient.errors import HttpError

from scanner.emulator import Emulator
from scanner.emulator.seeds.builder import anyone_perm, file_id, make_file, user_perm
from scanner.emulator.seeds.demo import ADMIN, DOMAIN, JONAS, MAYA, PRIYA
from scanner.emulator.state.model import DOC, FOLDER, FORM

from .conftest import DIRECTORY_RO


def reason(exc: HttpError) -> str:
    return str(json.loads(exc.content)["error"]["errors"][0]["reason"])


T0 = "2026-01-12T09:30:00.000Z"
FOLDER_ID, SUB_ID, DOC_ID, FORM_ID = (file_id("sharing", k) for k in ("folder", "sub", "doc", "form"))


@pytest.fixture()
def tree(emulator: Emulator) -> Emulator:
    """Maya's folder shared with anyone > a subfolder shared with Jonas > a doc; and a form."""
    ws = emulator.workspace
    with ws.lock:
        make_file(ws, fid=FOLDER_ID, name="Clients", mime=FOLDER, owner=MAYA, created=T0, perms=[anyone_perm()])
        make_file(ws, fid=SUB_ID, name="Clients/KESTREL", mime=FOLDER, owner=MAYA, created=T0,
                  parents=[FOLDER_ID], perms=[user_perm(ws, JONAS, "reader")])
        make_file(ws, fid=DOC_ID, name="Rates", mime=DOC, owner=MAYA, created=T0, parents=[SUB_ID])
        make_file(ws, fid=FORM_ID, name="Contractor sign-up", mime=FORM, owner=MAYA, created=T0,
                  perms=[anyone_perm(), user_perm(ws, PRIYA, "writer")])
        ws.files[FORM_ID].permissions[0].view = "published"
        ws.files[FORM_ID].permissions[0].id += "Published"
    return emulator


def perm_ids(drive, fid: str, **kw) -> dict[str, bool]:
    """permission id -> inherited?"""
    perms = drive.permissions().list(fileId=fid, fields="permissions(id,permissionDetails)", **kw).execute()
    return {p["id"]: any(d["inherited"] for d in p.get("permissionDetails") or []) for p in perms["permissions"]}


def test_limited_access_cuts_inherited_access_until_turned_off(client, tree) -> None:
    maya, priya = client(subject=MAYA), client(subject=PRIYA)
    jonas_id = user_perm(tree.workspace, JONAS).id
    assert perm_ids(maya, DOC_ID) == {tree.workspace.users[MAYA].permission_id: False, "anyoneWithLink": True,
                                      jonas_id: True}
    caps = "id,inheritedPermissionsDisabled,capabilities(canDisableInheritedPermissions,canEnableInheritedPermissions)"
    assert maya.files().get(fileId=SUB_ID, fields=caps).execute() == {
        "id": SUB_ID, "inheritedPermissionsDisabled": False,
        "capabilities": {"canDisableInheritedPermissions": True, "canEnableInheritedPermissions": True}}
    assert maya.files().get(fileId=DOC_ID, fields=caps).execute()["capabilities"] == {
        "canDisableInheritedPermissions": False, "canEnableInheritedPermissions": False}  # files cannot
    with pytest.raises(HttpError) as err:  # anyone with the link reads it, but only the owner may limit it
        priya.files().update(fileId=SUB_ID, body={"inheritedPermissionsDisabled": True}).execute()
    assert (err.value.status_code, reason(err.value)) == (403, "insufficientFilePermissions")
    with pytest.raises(HttpError) as err:
        maya.files().update(fileId=DOC_ID, body={"inheritedPermissionsDisabled": True}).execute()
    assert (err.value.status_code, reason(err.value)) == (400, "invalid")

    start = maya.changes().getStartPageToken().execute()["startPageToken"]
    done = maya.files().update(fileId=SUB_ID, body={"inheritedPermissionsDisabled": True},
                               fields="id,inheritedPermissionsDisabled").execute()
    assert done == {"id": SUB_ID, "inheritedPermissionsDisabled": True}
    # the anyone link of the parent no longer reaches the subfolder or the doc; Jonas (direct on it) still does
    assert "anyoneWithLink" not in perm_ids(maya, SUB_ID) and "anyoneWithLink" not in perm_ids(maya, DOC_ID)
    assert jonas_id in perm_ids(maya, DOC_ID)
    with pytest.raises(HttpError) as err:
        priya.files().get(fileId=DOC_ID, fields="id").execute()
    assert err.value.status_code == 404
    changed = [c["fileId"] for c in maya.changes().list(pageToken=start).execute()["changes"]]
    assert sorted(changed) == sorted([SUB_ID, DOC_ID])
    assert [e["kind"] for e in tree.events] == ["file.inheritedPermissionsDisabled"]

    maya.files().update(fileId=SUB_ID, body={"inheritedPermissionsDisabled": False}).execute()
    assert perm_ids(maya, DOC_ID)["anyoneWithLink"] is True


def test_shared_drive_folder_limited_access_keeps_organizers_only(client, emulator) -> None:
    from scanner.emulator.seeds.demo import CLIENT_DELIVERY, LIAM, fid

    liam, priya = client(subject=LIAM), client(subject=PRIYA)  # organizer, reader of Client Delivery
    orion = fid("orion_folder")
    assert priya.files().get(fileId=fid("bluefin_kickoff"), supportsAllDrives=True, fields="id").execute()
    with pytest.raises(HttpError) as err:
        priya.files().update(fileId=orion, supportsAllDrives=True, body={"inheritedPermissionsDisabled": True}
                             ).execute()
    assert err.value.status_code in (403, 404)
    liam.files().update(fileId=orion, supportsAllDrives=True, body={"inheritedPermissionsDisabled": True}).execute()
    with pytest.raises(HttpError) as err:
        priya.files().get(fileId=fid("bluefin_kickoff"), supportsAllDrives=True, fields="id").execute()
    assert err.value.status_code == 404
    members = liam.permissions().list(fileId=fid("bluefin_kickoff"), supportsAllDrives=True,
                                      fields="permissions(role,permissionDetails)").execute()["permissions"]
    assert {p["role"] for p in members} == {"organizer"}
    assert all(d["inheritedFrom"] == CLIENT_DELIVERY for p in members for d in p["permissionDetails"])


@pytest.mark.parametrize("descendants, expected", [(True, ["folder", "sub", "doc"]), (False, ["folder"])])
def test_a_folder_sharing_change_in_the_changes_feed(client, tree, descendants, expected) -> None:
    maya = client(subject=MAYA)
    tree.workspace.report_descendant_changes = descendants
    start = maya.changes().getStartPageToken().execute()["startPageToken"]
    maya.permissions().delete(fileId=FOLDER_ID, permissionId="anyoneWithLink").execute()
    changed = [c["fileId"] for c in maya.changes().list(pageToken=start).execute()["changes"]]
    names = {FOLDER_ID: "folder", SUB_ID: "sub", DOC_ID: "doc"}
    assert sorted(names[i] for i in changed) == sorted(expected)


def test_form_responders_are_listed_only_when_asked(client, tree) -> None:
    maya = client(subject=MAYA)
    plain = maya.permissions().list(fileId=FORM_ID, fields="permissions(id,type,role,view)").execute()
    assert all("view" not in p for p in plain["permissions"])
    published = maya.permissions().list(fileId=FORM_ID, includePermissionsForView="published",
                                        fields="permissions(id,type,role,view)").execute()["permissions"]
    assert {"id": "anyoneWithLinkPublished", "type": "anyone", "role": "reader", "view": "published"} in published
    listed = maya.files().get(fileId=FORM_ID, fields="permissions(id)").execute()["permissions"]
    assert "anyoneWithLinkPublished" not in {p["id"] for p in listed}
    with pytest.raises(HttpError) as err:
        maya.permissions().list(fileId=FORM_ID, includePermissionsForView="metadata").execute()
    assert err.value.status_code == 400
    with pytest.raises(HttpError) as err:  # the published view exists for forms only
        maya.permissions().create(fileId=DOC_ID, body={"type": "anyone", "role": "reader", "view": "published"}
                                  ).execute()
    assert err.value.status_code == 400
    # a responder cannot open the form in Drive
    with pytest.raises(HttpError) as err:
        client(subject=JONAS).files().get(fileId=FORM_ID, fields="id").execute()
    assert err.value.status_code == 404
    maya.permissions().delete(fileId=FORM_ID, permissionId="anyoneWithLinkPublished").execute()
    again = maya.permissions().list(fileId=FORM_ID, includePermissionsForView="published",
                                    fields="permissions(id)").execute()["permissions"]
    assert "anyoneWithLinkPublished" not in {p["id"] for p in again}


def _in(days: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.mark.parametrize("perm_key, days, status, why", [
    ("anyone", 7, 403, "cannotSetExpiration"),
    ("user", -1, 400, "expirationDatesMustBeInTheFuture"),
    ("user", 400, 400, "expirationDateTooFarInFuture"),
    ("user", 30, 200, ""),
])
def test_expiry_dates_follow_drives_rules(client, tree, perm_key, days, status, why) -> None:
    maya = client(subject=MAYA)
    perm_id = "anyoneWithLink" if perm_key == "anyone" else user_perm(tree.workspace, PRIYA).id
    request = maya.permissions().update(fileId=FORM_ID, permissionId=perm_id, body={"expirationTime": _in(days)},
                                        fields="id,expirationTime")
    if status == 200:
        assert request.execute()["expirationTime"].startswith(_in(days)[:10])
        return
    tree.workspace.files[FORM_ID].permissions.append(anyone_perm())  # a plain anyone link to try it on
    with pytest.raises(HttpError) as err:
        request.execute()
    assert (err.value.status_code, reason(err.value)) == (status, why)


def test_domains_with_aliases(client, emulator) -> None:
    emulator.workspace.domain_aliases = {"tessera.io": DOMAIN, "tessera-labeling.io": "tessera-labeling.com"}
    admin = client(api="admin", subject=ADMIN, scopes=DIRECTORY_RO + [
        "https://www.googleapis.com/auth/admin.directory.domain.readonly"])
    domains = admin.domains().list(customer="my_customer").execute()["domains"]
    assert [(d["domainName"], d["isPrimary"], [a["domainAliasName"] for a in d.get("domainAliases", [])])
            for d in domains] == [(DOMAIN, True, ["tessera.io"]),
                                  ("tessera-labeling.com", False, ["tessera-labeling.io"])]
    aliases = admin.domainAliases().list(customer="my_customer").execute()["domainAliases"]
    assert [(a["domainAliasName"], a["parentDomainName"]) for a in aliases] == [
        ("tessera-labeling.io", "tessera-labeling.com"), ("tessera.io", DOMAIN)]
    only = admin.domainAliases().list(customer="my_customer", parentDomainName=DOMAIN).execute()
    assert [a["domainAliasName"] for a in only["domainAliases"]] == ["tessera.io"]
    with pytest.raises(HttpError) as err:
        admin.domainAliases().list(customer="my_customer", parentDomainName="elsewhere.example").execute()
    assert err.value.status_code == 400
