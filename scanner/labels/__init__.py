"""Drive labels: which label ids a scan reads (``includeLabels``) and the ``label`` remediation action."""
