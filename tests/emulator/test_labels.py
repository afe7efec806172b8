"""Drive labels through the real googleapiclient: the Drive Labels API v2 and Drive v3's label surface.

Shapes checked against the ``drivelabels.v2`` discovery document (``labels.list``: ``view``,
``publishedOnly``, ``pageSize`` default 50 / max 200; ``labels.get`` names ``labels/{id}``,
``labels/{id}@published``, ``labels/{id}@{revision}``; ``GoogleAppsDriveLabelsV2Label``, ``Field``,
``SelectionOptions.choices[]``, ``Lifecycle.state``; ``LABEL_VIEW_BASIC`` = name, id, revision_id, label_type,
properties), the ``drive.v3`` document (``includeLabels`` on files.get/list/changes.list, ``File.labelInfo`` —
"By default, no labels are returned" —, ``files.modifyLabels`` with ``labelModifications[].fieldModifications[]``
→ ``modifiedLabels``, ``files.listLabels`` ``maxResults`` 1..100, ``Label``/``LabelField`` kinds), and Google's
"Search for files with a specific label or field value" guide (``'labels/ID' in labels``,
``labels/ID.FIELD = 'value'``, ``IS NULL`` / ``IS NOT NULL``).
"""

from __future__ import annotations

import json

import pytest
from googleapiclient.errors import HttpError

from scanner.emulator.seeds.demo import EXPECTED, LIAM, MAYA, PRIYA
from scanner.emulator.seeds.demo_posture import CHOICE_IDS, CONFIDENTIAL_LABEL, DATA_CATEGORY_FIELD, LABELLED

from .conftest import DRIVE_RO

ID = {k: v.file_id for k, v in EXPECTED.items()}
ALL_DRIVES = {"corpora": "allDrives", "includeItemsFromAllDrives": True, "supportsAllDrives": True}


def listed(drive, **kw) -> list[dict]:
    items, token = [], None
    while True:
        resp = drive.files().list(pageToken=token, **kw).execute()
        items.extend(resp.get("files", []))
        token = resp.get("nextPageToken")
        if not token:
            return items


def test_labels_list_full_and_basic_views(client):
    labels = client("drivelabels", subject=LIAM)
    full = labels.labels().list(view="LABEL_VIEW_FULL").execute()["labels"]
    assert len(full) == 1
    label = full[0]
    assert label["name"] == f"labels/{CONFIDENTIAL_LABEL}" and label["id"] == CONFIDENTIAL_LABEL
    assert label["properties"]["title"] == "Confidential" and label["lifecycle"]["state"] == "PUBLISHED"
    assert label["labelType"] == "ADMIN" and label["revisionId"] == "1" and label["customer"] == "customers/C03tessera"
    (field,) = label["fields"]
    assert field["id"] == DATA_CATEGORY_FIELD and field["properties"]["displayName"] == "Data category"
    assert field["queryKey"] == f"labels/{CONFIDENTIAL_LABEL}.{DATA_CATEGORY_FIELD}"
    assert [(c["id"], c["properties"]["displayName"]) for c in field["selectionOptions"]["choices"]] == [
        (CHOICE_IDS[n], n) for n in ("Contractor PII", "Client confidential", "Internal")]
    basic = labels.labels().list().execute()["labels"][0]
    assert set(basic) == {"name", "id", "revisionId", "labelType", "properties"}
    published = labels.labels().list(publishedOnly=True).execute()["labels"][0]
    assert published["name"] == f"labels/{CONFIDENTIAL_LABEL}@1"


@pytest.mark.parametrize(("name", "status"), [
    (f"labels/{CONFIDENTIAL_LABEL}", 200), (f"labels/{CONFIDENTIAL_LABEL}@published", 200),
    (f"labels/{CONFIDENTIAL_LABEL}@1", 200), (f"labels/{CONFIDENTIAL_LABEL}@7", 404), ("labels/nope", 404)])
def test_labels_get(client, name, status):
    labels = client("drivelabels", subject=LIAM)
    if status == 200:
        got = labels.labels().get(name=name, view="LABEL_VIEW_FULL").execute()
        assert got["id"] == CONFIDENTIAL_LABEL and got["name"] == name.replace("@published", "@1")
    else:
        with pytest.raises(HttpError) as err:
            labels.labels().get(name=name).execute()
        assert err.value.status_code == 404 and json.loads(err.value.content)["error"]["status"] == "NOT_FOUND"


def test_labels_api_needs_its_scope(client):
    with pytest.raises(HttpError) as err:
        client("drivelabels", subject=LIAM, scopes=DRIVE_RO).labels().list().execute()
    assert err.value.status_code == 403
    assert json.loads(err.value.content)["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    with pytest.raises(HttpError) as err:  # admin access needs an admin
        client("drivelabels", subject=LIAM, scopes=["https://www.googleapis.com/auth/drive.admin.labels.readonly"]
               ).labels().list(useAdminAccess=True).execute()
    assert err.value.status_code == 403


def test_label_info_only_for_included_labels(client):
    liam = client(subject=LIAM)
    plain = liam.files().get(fileId=ID["peregrine_status"], fields="id,labelInfo").execute()
    assert plain == {"id": ID["peregrine_status"], "labelInfo": {}}  # no includeLabels: no labels
    other = liam.files().get(fileId=ID["peregrine_status"], fields="labelInfo", includeLabels="someOtherLabel").execute()
    assert other == {"labelInfo": {}}
    got = liam.files().get(fileId=ID["peregrine_status"], fields="labelInfo", includeLabels=CONFIDENTIAL_LABEL).execute()
    assert got["labelInfo"]["labels"] == [{
        "kind": "drive#label", "id": CONFIDENTIAL_LABEL, "revisionId": "1",
        "fields": {DATA_CATEGORY_FIELD: {"kind": "drive#labelField", "id": DATA_CATEGORY_FIELD, "valueType": "selection",
                                         "selection": [CHOICE_IDS["Client confidential"]]}}}]
    default = liam.files().get(fileId=ID["peregrine_status"], includeLabels=CONFIDENTIAL_LABEL).execute()
    assert "labelInfo" not in default  # not in the default field set


@pytest.mark.parametrize(("q", "keys"), [
    (f"'labels/{CONFIDENTIAL_LABEL}' in labels", {"client_brief_internal", "peregrine_status", "bluefin_kickoff"}),
    (f"labels/{CONFIDENTIAL_LABEL}.{DATA_CATEGORY_FIELD} = '{CHOICE_IDS['Client confidential']}' and trashed = false",
     {"client_brief_internal", "peregrine_status", "bluefin_kickoff"}),
    (f"labels/{CONFIDENTIAL_LABEL}.{DATA_CATEGORY_FIELD} = '{CHOICE_IDS['Contractor PII']}'", set()),
    (f"labels/{CONFIDENTIAL_LABEL}.{DATA_CATEGORY_FIELD} IS NOT NULL", {"client_brief_internal", "peregrine_status",
                                                                        "bluefin_kickoff"}),
    (f"'labels/{CONFIDENTIAL_LABEL}' in labels and mimeType = 'application/vnd.google-apps.spreadsheet'",
     {"peregrine_status"}),
])
def test_label_queries(client, q, keys):
    files = listed(client(subject=LIAM), q=q, fields="nextPageToken,files(id,labelInfo)",
                   includeLabels=CONFIDENTIAL_LABEL, **ALL_DRIVES)
    assert {f["id"] for f in files} == {ID[k] for k in keys}
    assert all(f["labelInfo"]["labels"][0]["id"] == CONFIDENTIAL_LABEL for f in files)


def test_not_in_labels_and_bad_label_query(client):
    liam = client(subject=LIAM)
    unlabelled = listed(liam, q=f"not 'labels/{CONFIDENTIAL_LABEL}' in labels", fields="nextPageToken,files(id)")
    assert unlabelled and not {f["id"] for f in unlabelled} & {ID[k] for k in LABELLED}
    with pytest.raises(HttpError) as err:
        liam.files().list(q="'contract' in labels").execute()
    assert err.value.status_code == 400


def test_modify_labels_list_labels_changes_and_audit(client):
    liam = client(subject=LIAM)
    token = liam.changes().getStartPageToken().execute()["startPageToken"]
    resp = liam.files().modifyLabels(fileId=ID["bluefin_guidelines"], body={"labelModifications": [{
        "labelId": CONFIDENTIAL_LABEL, "fieldModifications": [
            {"fieldId": DATA_CATEGORY_FIELD, "setSelectionValues": [CHOICE_IDS["Client confidential"]]}]}]}).execute()
    assert resp == {"kind": "drive#modifyLabelsResponse", "modifiedLabels": [{
        "kind": "drive#label", "id": CONFIDENTIAL_LABEL, "revisionId": "1",
        "fields": {DATA_CATEGORY_FIELD: {"kind": "drive#labelField", "id": DATA_CATEGORY_FIELD,
                                         "valueType": "selection", "selection": [CHOICE_IDS["Client confidential"]]}}}]}
    on_file = liam.files().listLabels(fileId=ID["bluefin_guidelines"]).execute()
    assert on_file["kind"] == "drive#labelList" and on_file["labels"] == resp["modifiedLabels"]
    changes = liam.changes().list(pageToken=token, includeLabels=CONFIDENTIAL_LABEL,
                                  fields="changes(fileId,file(labelInfo))").execute()["changes"]
    assert [c["fileId"] for c in changes] == [ID["bluefin_guidelines"]]
    assert changes[0]["file"]["labelInfo"]["labels"][0]["id"] == CONFIDENTIAL_LABEL
    audit = client("reports").activities().list(userKey="all", applicationName="drive", maxResults=2,
                                                filters=f"doc_id=={ID['bluefin_guidelines']}").execute()["items"]
    assert [e["name"] for i in audit for e in i["events"]] == ["label_field_changed", "label_added"]
    assert {p["name"]: p.get("value") for p in audit[1]["events"][0]["parameters"]}["label_title"] == "Confidential"
    removed = liam.files().modifyLabels(fileId=ID["bluefin_guidelines"], body={"labelModifications": [
        {"labelId": CONFIDENTIAL_LABEL, "removeLabel": True}]}).execute()
    assert removed["modifiedLabels"] == [{"kind": "drive#label", "id": CONFIDENTIAL_LABEL}]
    assert liam.files().listLabels(fileId=ID["bluefin_guidelines"]).execute()["labels"] == []


@pytest.mark.parametrize(("subject", "scopes", "mod", "status"), [
    (LIAM, None, {"labelId": "nope"}, 400),
    (LIAM, None, {"labelId": CONFIDENTIAL_LABEL, "fieldModifications": [
        {"fieldId": DATA_CATEGORY_FIELD, "setSelectionValues": ["NOT_A_CHOICE"]}]}, 400),
    (LIAM, None, {"labelId": CONFIDENTIAL_LABEL, "fieldModifications": [
        {"fieldId": DATA_CATEGORY_FIELD, "setTextValues": ["free text"]}]}, 400),
    (LIAM, None, {"labelId": CONFIDENTIAL_LABEL, "fieldModifications": [{"fieldId": "NOFIELD", "unsetValues": True}]},
     400),
    (PRIYA, None, {"labelId": CONFIDENTIAL_LABEL}, 404),  # cannot see Liam's file
    (LIAM, DRIVE_RO, {"labelId": CONFIDENTIAL_LABEL}, 403),
])
def test_modify_labels_refusals(client, subject, scopes, mod, status):
    drive = client(subject=subject, scopes=scopes)
    with pytest.raises(HttpError) as err:
        drive.files().modifyLabels(fileId=ID["bluefin_guidelines"], body={"labelModifications": [mod]}).execute()
    assert err.value.status_code == status
    assert client(subject=LIAM).files().listLabels(fileId=ID["bluefin_guidelines"]).execute()["labels"] == []


def test_readers_cannot_modify_labels(client):
    # Maya reads the internal brief through the delivery group as a writer; Priya is a shared-drive reader
    with pytest.raises(HttpError) as err:
        client(subject=PRIYA).files().modifyLabels(fileId=ID["bluefin_kickoff"], body={"labelModifications": [
            {"labelId": CONFIDENTIAL_LABEL, "removeLabel": True}]}).execute()
    assert err.value.status_code == 403
    got = client(subject=MAYA).files().modifyLabels(fileId=ID["client_brief_internal"], body={"labelModifications": [
        {"labelId": CONFIDENTIAL_LABEL, "fieldModifications": [{"fieldId": DATA_CATEGORY_FIELD,
                                                                "unsetValues": True}]}]}).execute()
    assert got["modifiedLabels"][0]["fields"] == {}
    caps = "capabilities(canModifyLabels,canReadLabels)"
    assert client(subject=MAYA).files().get(fileId=ID["client_brief_internal"], fields=caps).execute() == {
        "capabilities": {"canModifyLabels": True, "canReadLabels": True}}
    assert client(subject=PRIYA).files().get(fileId=ID["bluefin_kickoff"], supportsAllDrives=True, fields=caps
                                             ).execute() == {"capabilities": {"canModifyLabels": False,
                                                                              "canReadLabels": True}}
