"""Running sharescan unattended: logs, progress, metrics, the preflight check."""
