"""The demo's Drive sharing posture (org units, Cloud Identity policies, allowlisted domains) and its
classification label.

Posture: the root org unit allows sharing outside the organisation and "anyone with the link"
(``allowPublishingFiles``); ``/Contractors`` (Maya, who runs the contractor programme) sets the same
explicitly with warnings off and new files shared with the link by default; ``/Finance`` is strict
(allowlisted domains only, no publishing, files private by default, no shared drives). The Delivery
team group gets a narrower access-checker setting. ``drive_and_docs.general_access_default`` is not set
at the root: clients apply Google's documented default there.

Label: "Confidential" with a selection field "Data category" (Contractor PII, Client confidential,
Internal), on four files (one of them shared outside: the PEREGRINE weekly status).
"""

from __future__ import annotations

from collections.abc import Callable

from ..state.labels import FieldKind, choice_id_for, field_id_for, label_id_for
from ..state.policies import (
    EXTERNAL_SHARING,
    GENERAL_ACCESS_DEFAULT,
    SERVICE_STATUS,
    SHARED_DRIVE_CREATION,
    PolicyType,
)
from ..state.workspace import Workspace

CONTRACTORS_OU = "/Contractors"
FINANCE_OU = "/Finance"
ALLOWLISTED_DOMAINS = ["vantablack-retail.com", "halcyon-motors.com"]
LABEL_TITLE = "Confidential"
FIELD_NAME = "Data category"
CHOICES = ["Contractor PII", "Client confidential", "Internal"]
CONFIDENTIAL_LABEL = label_id_for(LABEL_TITLE)
DATA_CATEGORY_FIELD = field_id_for(LABEL_TITLE, FIELD_NAME)
CHOICE_IDS = {c: choice_id_for(LABEL_TITLE, FIELD_NAME, c) for c in CHOICES}
#: demo file key -> "Data category" choice of its Confidential label
LABELLED = {"payroll_xlsx": "Contractor PII", "client_brief_internal": "Client confidential",
            "bluefin_kickoff": "Client confidential", "peregrine_status": "Client confidential"}


def seed_posture(ws: Workspace, delivery_group: str) -> None:
    store = ws.policies
    store.ensure_unit("/", "Tessera Labeling")
    for path, description in [("/IT", "IT and security"), (CONTRACTORS_OU, "Contractor programme"),
                              ("/Delivery", "Client delivery"), ("/Marketing", "Marketing"),
                              ("/Engineering", "Engineering"), (FINANCE_OU, "Finance and payroll"),
                              ("/Former staff", "Suspended accounts")]:
        store.ensure_unit(path, description)
    store.allowlisted_domains = list(ALLOWLISTED_DOMAINS)
    store.set(SERVICE_STATUS, {"serviceState": "ENABLED"}, type=PolicyType.SYSTEM)
    store.set(EXTERNAL_SHARING, {
        "externalSharingMode": "ALLOWED", "allowReceivingExternalFiles": True, "warnForExternalSharing": True,
        "allowNonGoogleInvites": True, "allowPublishingFiles": True,
        "accessCheckerSuggestions": "RECIPIENTS_OR_AUDIENCE_OR_PUBLIC",
        "allowedPartiesForDistributingContent": "ALL_ELIGIBLE_USERS",
        "warnForSharingOutsideAllowlistedDomains": True, "allowReceivingFilesOutsideAllowlistedDomains": True,
        "allowNonGoogleInvitesInAllowlistedDomains": False})
    store.set(SHARED_DRIVE_CREATION, {
        "allowSharedDriveCreation": True, "orgUnitForNewSharedDrives": "CREATOR_ORG_UNIT",
        "allowManagersToOverrideSettings": True, "allowExternalUserAccess": True, "allowNonMemberAccess": True,
        "allowedPartiesForDownloadPrintCopy": "ALL", "allowContentManagersToShareFolders": True})
    store.set(EXTERNAL_SHARING, {
        "externalSharingMode": "ALLOWED", "allowPublishingFiles": True, "warnForExternalSharing": False,
        "allowNonGoogleInvites": True, "accessCheckerSuggestions": "RECIPIENTS_OR_AUDIENCE_OR_PUBLIC"},
        org_unit=CONTRACTORS_OU)
    store.set(GENERAL_ACCESS_DEFAULT, {"defaultFileAccess": "PRIMARY_AUDIENCE_WITH_LINK"}, org_unit=CONTRACTORS_OU)
    store.set(EXTERNAL_SHARING, {
        "externalSharingMode": "ALLOWLISTED_DOMAINS", "allowPublishingFiles": False, "warnForExternalSharing": True,
        "warnForSharingOutsideAllowlistedDomains": True, "allowReceivingFilesOutsideAllowlistedDomains": False,
        "allowNonGoogleInvitesInAllowlistedDomains": False, "allowNonGoogleInvites": False,
        "accessCheckerSuggestions": "RECIPIENTS_ONLY", "allowedPartiesForDistributingContent": "NONE"},
        org_unit=FINANCE_OU)
    store.set(GENERAL_ACCESS_DEFAULT, {"defaultFileAccess": "PRIVATE_TO_OWNER"}, org_unit=FINANCE_OU)
    store.set(SHARED_DRIVE_CREATION, {
        "allowSharedDriveCreation": False, "allowManagersToOverrideSettings": False, "allowExternalUserAccess": False,
        "allowNonMemberAccess": False, "allowedPartiesForDownloadPrintCopy": "EDITORS_ONLY"}, org_unit=FINANCE_OU)
    store.set(EXTERNAL_SHARING, {"accessCheckerSuggestions": "RECIPIENTS_OR_AUDIENCE"}, group=delivery_group)


def seed_labels(ws: Workspace, file_ids: Callable[[str], str], creator: str) -> None:
    label = ws.labels.define(LABEL_TITLE, description="Files holding client or contractor data. Applied by the "
                                                      "security team; Drive DLP rules read it.",
                             creator=creator, fields=[(FIELD_NAME, FieldKind.SELECTION, CHOICES)])
    assert label.id == CONFIDENTIAL_LABEL
    for key, choice in LABELLED.items():
        ws.labels.seed(file_ids(key), label, {DATA_CATEGORY_FIELD: [CHOICE_IDS[choice]]})
