"""Cloud Identity Policy API (Drive and Docs settings) and the Directory calls that resolve its ids, through
the real googleapiclient.

Shapes checked against the ``cloudidentity.v1`` discovery document googleapiclient ships (``policies.list``
``filter``/``pageSize``/``pageToken``, ``ListPoliciesResponse``, ``Policy{name, customer, policyQuery{query,
orgUnit, group, sortOrder}, setting{type, value}, type}``) and Google's pages: "Policy API concepts" (only
explicitly set policies are returned; admin vs system policies; the Max reducer by ``sortOrder``),
``policies.list`` (filter clauses ``customer == "customers/…"`` and ``setting.type.matches(…)``), "Policy API
supported settings" for ``drive_and_docs.external_sharing`` / ``general_access_default`` /
``shared_drive_creation`` / ``service_status`` and their camelCase fields as ScubaGoggles reads them, and the
``admin.directory_v1`` document for ``orgunits.list`` (``type`` defaults to ``children``) and ``groups.get``.
"""

from __future__ import annotations

import json

import pytest
from googleapiclient.errors import HttpError

from scanner.emulator.seeds.demo import ADMIN, DELIVERY_GROUP, LIAM, MAYA
from scanner.emulator.seeds.demo_posture import ALLOWLISTED_DOMAINS, CONTRACTORS_OU, FINANCE_OU

from .conftest import DRIVE_RO, POLICIES_RO

ORGUNIT_RO = ["https://www.googleapis.com/auth/admin.directory.orgunit.readonly"]
GROUP_RO = ["https://www.googleapis.com/auth/admin.directory.group.readonly"]
USER_RO = ["https://www.googleapis.com/auth/admin.directory.user.readonly"]
EXTERNAL = "settings/drive_and_docs.external_sharing"


def all_policies(ci, **kw) -> list[dict]:
    items, token = [], None
    while True:
        resp = ci.policies().list(pageToken=token, **kw).execute()
        items.extend(resp.get("policies", []))
        token = resp.get("nextPageToken")
        if not token:
            return items


def unit_paths(client) -> dict[str, str]:
    admin = client("admin", subject=ADMIN, scopes=ORGUNIT_RO)
    units = admin.orgunits().list(customerId="my_customer", type="allIncludingParent").execute()["organizationUnits"]
    return {u["orgUnitId"].removeprefix("id:"): u["orgUnitPath"] for u in units}


def reduce(policies: list[dict], paths: dict[str, str], org_unit: str, setting: str) -> dict:
    """Google's Max reducer for one org unit (no group): per field, the value of the applicable policy with
    the greatest sortOrder (the unit's own policies and its ancestors')."""
    applicable = [p for p in policies if p["setting"]["type"] == setting and "group" not in p["policyQuery"]
                  and (org_unit + "/").startswith(paths[p["policyQuery"]["orgUnit"].removeprefix("orgUnits/")]
                                                  .rstrip("/") + "/")]
    out: dict = {}
    for p in sorted(applicable, key=lambda p: p["policyQuery"]["sortOrder"]):
        out.update(p["setting"]["value"])
    return out


def test_policies_list_shape_and_org_units(client):
    ci = client("cloudidentity")
    policies = all_policies(ci)
    paths = unit_paths(client)
    assert len(policies) == 9
    for p in policies:
        assert p["name"].startswith("policies/") and p["customer"] == "customers/C03tessera"
        assert p["type"] in ("ADMIN", "SYSTEM") and p["setting"]["type"].startswith("settings/drive_and_docs.")
        unit_id = p["policyQuery"]["orgUnit"].removeprefix("orgUnits/")
        assert p["policyQuery"]["query"].startswith(
            f"entity.org_units.exists(org_unit, org_unit.org_unit_id == orgUnitId('{unit_id}'))")
        assert isinstance(p["policyQuery"]["sortOrder"], float) and unit_id in paths
    by_unit = {(paths[p["policyQuery"]["orgUnit"].removeprefix("orgUnits/")], p["setting"]["type"],
                "group" in p["policyQuery"]): p for p in policies}
    assert by_unit[(CONTRACTORS_OU, EXTERNAL, False)]["setting"]["value"]["allowPublishingFiles"] is True
    assert by_unit[(FINANCE_OU, EXTERNAL, False)]["setting"]["value"]["externalSharingMode"] == "ALLOWLISTED_DOMAINS"
    assert by_unit[("/", "settings/drive_and_docs.service_status", False)]["type"] == "SYSTEM"
    # only explicitly set policies: /Marketing inherits, so it has none of its own
    assert not [k for k in by_unit if k[0] == "/Marketing"]
    # and the root has no general-access default: clients apply Google's documented default
    assert ("/", "settings/drive_and_docs.general_access_default", False) not in by_unit


@pytest.mark.parametrize(("org_unit", "expected"), [
    ("/", {"externalSharingMode": "ALLOWED", "allowPublishingFiles": True, "warnForExternalSharing": True}),
    ("/Marketing", {"externalSharingMode": "ALLOWED", "allowPublishingFiles": True, "warnForExternalSharing": True}),
    (CONTRACTORS_OU, {"externalSharingMode": "ALLOWED", "allowPublishingFiles": True,
                      "warnForExternalSharing": False}),
    (FINANCE_OU, {"externalSharingMode": "ALLOWLISTED_DOMAINS", "allowPublishingFiles": False,
                  "warnForExternalSharing": True}),
])
def test_children_inherit_unless_overridden(client, org_unit, expected):
    effective = reduce(all_policies(client("cloudidentity")), unit_paths(client), org_unit, EXTERNAL)
    assert {k: effective[k] for k in expected} == expected


def test_group_policy_names_the_directory_group(client):
    policies = all_policies(client("cloudidentity"))
    group_policies = [p for p in policies if "group" in p["policyQuery"]]
    assert len(group_policies) == 1
    gp = group_policies[0]
    group = client("admin", subject=ADMIN, scopes=GROUP_RO).groups().get(groupKey=DELIVERY_GROUP).execute()
    assert gp["policyQuery"]["group"] == f"groups/{group['id']}" and group["email"] == DELIVERY_GROUP
    assert gp["setting"]["value"] == {"accessCheckerSuggestions": "RECIPIENTS_OR_AUDIENCE"}
    assert gp["policyQuery"]["sortOrder"] > max(p["policyQuery"]["sortOrder"] for p in policies
                                                if "group" not in p["policyQuery"])


@pytest.mark.parametrize(("flt", "count"), [
    ("setting.type.matches('settings/drive_and_docs.*')", 9),
    (r"setting.type.matches('^settings/drive_and_docs\\.external_sharing$')", 4),
    ("setting.type.matches('.*\\.service_status$')", 1),
    ('customer == "customers/my_customer" && setting.type.matches(\'general_access_default\')', 2),
    ("customer == 'customers/C03tessera'", 9),
    ("setting.type.matches('shared_drive_creation') || setting.type.matches('service_status')", 3),
    ("(setting.type.matches('gmail') || setting.type.matches('service_status')) && customer == "
     "'customers/my_customer'", 1),
    ("setting.type.matches('^settings/gmail\\..*$')", 0),
])
def test_filter_grammar(client, flt, count):
    assert len(all_policies(client("cloudidentity"), filter=flt)) == count


@pytest.mark.parametrize(("flt", "status"), [
    ("policyQuery.orgUnit == 'orgUnits/x'", 400),
    ("setting.type.matches('(')", 400),
    ("setting.type.matches('x'", 400),
    ("customer == 'customers/C0someoneelse'", 403),
])
def test_bad_filters_are_refused(client, flt, status):
    with pytest.raises(HttpError) as err:
        client("cloudidentity").policies().list(filter=flt).execute()
    body = json.loads(err.value.content)["error"]
    assert err.value.status_code == status and "errors" not in body
    assert body["status"] == ("INVALID_ARGUMENT" if status == 400 else "PERMISSION_DENIED")


def test_paging_and_get(client):
    ci = client("cloudidentity")
    everything = ci.policies().list().execute()
    assert "nextPageToken" not in everything and len(everything["policies"]) == 9  # default page size is 50
    first = ci.policies().list(pageSize=4).execute()
    assert len(first["policies"]) == 4 and first["nextPageToken"]
    assert all_policies(ci, pageSize=4) == everything["policies"]
    one = everything["policies"][3]
    assert ci.policies().get(name=one["name"]).execute() == one
    with pytest.raises(HttpError) as err:
        ci.policies().get(name="policies/doesnotexist").execute()
    assert err.value.status_code == 404 and json.loads(err.value.content)["error"]["status"] == "NOT_FOUND"
    with pytest.raises(HttpError) as err:
        ci.policies().list(pageSize=4, filter="setting.type.matches('x')", pageToken=first["nextPageToken"]).execute()
    assert err.value.status_code == 400


def test_scope_and_super_admin_are_enforced(client):
    with pytest.raises(HttpError) as err:
        client("cloudidentity", subject=ADMIN, scopes=DRIVE_RO).policies().list().execute()
    body = json.loads(err.value.content)["error"]
    assert err.value.status_code == 403 and body["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    with pytest.raises(HttpError) as err:
        client("cloudidentity", subject=LIAM, scopes=POLICIES_RO).policies().list().execute()
    assert err.value.status_code == 403 and json.loads(err.value.content)["error"]["status"] == "PERMISSION_DENIED"


def test_allowlisted_domains(client):
    ci = client("cloudidentity", scopes=["https://www.googleapis.com/auth/cloud-identity.allowlisteddomains.readonly"])
    listed = ci.allowlistedDomains().list().execute()["allowlistedDomains"]
    assert [d["domain"] for d in listed] == ALLOWLISTED_DOMAINS
    assert ci.allowlistedDomains().get(name=listed[0]["name"]).execute() == listed[0]


def test_directory_org_units_agree_with_users(client):
    admin = client("admin", subject=ADMIN, scopes=ORGUNIT_RO)
    top = admin.orgunits().list(customerId="my_customer").execute()["organizationUnits"]  # children by default
    assert all(u["parentOrgUnitPath"] == "/" for u in top)
    assert {u["orgUnitPath"] for u in top} == {"/IT", CONTRACTORS_OU, "/Delivery", "/Marketing", "/Engineering",
                                              FINANCE_OU, "/Former staff"}
    contractors = admin.orgunits().get(customerId="my_customer", orgUnitPath="Contractors").execute()
    assert contractors["name"] == "Contractors" and contractors["orgUnitId"].startswith("id:")
    users = client("admin", subject=ADMIN, scopes=USER_RO).users().list(customer="my_customer").execute()["users"]
    known = {u["orgUnitPath"] for u in top} | {"/"}
    assert {u["orgUnitPath"] for u in users} <= known
    assert next(u for u in users if u["primaryEmail"] == MAYA)["orgUnitPath"] == CONTRACTORS_OU
    with pytest.raises(HttpError) as err:
        client("admin", subject=ADMIN, scopes=USER_RO).orgunits().list(customerId="my_customer").execute()
    assert err.value.status_code == 403
