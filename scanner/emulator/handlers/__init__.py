"""Request handlers, one module per API resource; each exposes ROUTES."""
