"""Google Workspace (Drive, Admin SDK Directory and Reports) as a connector: what it declares.

The calls live beside this module: ``client`` (credentials, retries, quota), ``directory`` (users,
domains, groups), ``drive_api`` (the crawl's requests and their parsing into core items),
``drive_ops`` (sharing changes as the owner / a drive member / the admin).
"""

from __future__ import annotations

from scanner.connectors.base import Capability
from scanner.connectors.registry import CONNECTORS, ConnectorInfo
from scanner.core.models import GOOGLE

GOOGLE_CONNECTOR = CONNECTORS.register(ConnectorInfo(
    name=GOOGLE,
    capabilities=frozenset({Capability.PUBLISH_TO_WEB, Capability.INHERITED_GRANTS, Capability.CHANGE_FEED,
                            Capability.GRANT_EXPIRY, Capability.LIMITED_ACCESS, Capability.SHARED_DRIVES}),
    settings_section="google",
    description="Google Drive (My Drive and shared drives) of a Workspace domain",
))
