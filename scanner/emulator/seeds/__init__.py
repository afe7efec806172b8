"""Seed workspaces: ``demo`` (a story), ``incident`` (exposure that lives in folders) and
``synthetic:USERS:FILES[:SEED]`` (generated, any size)."""

from __future__ import annotations

from ..state.workspace import Workspace


def build_seed(spec: str) -> Workspace:
    """Build a workspace from a seed spec: ``demo``, ``incident``, ``empty`` or ``synthetic:USERS:FILES[:SEED]``."""
    name, _, rest = spec.partition(":")
    if name == "demo":
        from .demo import build

        return build()
    if name == "incident":
        from .incident import build as build_incident

        return build_incident()
    if name == "empty":
        ws = Workspace(org_name="Empty Org", domain="example.org")
        ws.add_user("admin@example.org", "Admin User", is_admin=True)
        return ws
    if name == "synthetic":
        from .synthetic import SyntheticSpec
        from .synthetic import build as build_synthetic

        parts = rest.split(":") if rest else []
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
            raise ValueError("synthetic seeds look like synthetic:USERS:FILES[:SEED], e.g. synthetic:50:10000")
        return build_synthetic(SyntheticSpec(users=int(parts[0]), files=int(parts[1]),
                                             seed=int(parts[2]) if len(parts) == 3 else 0))
    raise ValueError(f"unknown seed {spec!r}: use demo, incident, empty or synthetic:USERS:FILES[:SEED]")
