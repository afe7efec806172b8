"""Moved to :mod:`scanner.connectors.google.fetch` (fetching content is Google's half of the crawl);
kept for a short transition so imports of ``scanner.drive.content`` keep working."""

from scanner.connectors.google.fetch import (  # noqa: F401 - re-exported
    DENIED_REASONS,
    EXPORT_FORMATS,
    GOOGLE_APPS_PREFIX,
    XLSX,
    ContentFetcher,
    FetchedContent,
)
