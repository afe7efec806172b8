"""Workspace state: typed records, access rules, mutations and persistence."""
