"""Connectors: one package per storage provider behind the protocol in ``scanner.connectors.base``."""
