"""``GET /discovery/v1/apis/{api}/{version}/rest``: the discovery documents of the APIs the emulator
serves (Drive v3, Admin SDK Directory and Reports, Cloud Identity, Drive Labels), pointed at the
emulator, so ``googleapiclient.discovery.build(..., discoveryServiceUrl=...)`` works against it as
``build_from_document`` does. Public, like Google's discovery service: no token needed."""

from __future__ import annotations

import re

from ..discovery import SERVED, document
from ..errors import ApiError
from .common import Request, Response

PATH = re.compile(r"^/discovery/v1/apis/(?P<api>[^/]+)/(?P<version>[^/]+)/rest$")


def serve(base_url: str, req: Request) -> Response:
    m = PATH.match(req.path)
    name = SERVED.get((m.group("api"), m.group("version"))) if m and req.method == "GET" else None
    doc = document(name, base_url) if name else None
    if doc is None:
        raise ApiError(404, "notFound", f"Not Found: {req.path}")
    return Response.json(doc)
