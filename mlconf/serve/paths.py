"""The service's URL paths, shared by the routes and the middleware in front of them.

The middleware names metrics by these paths (anything else is "other", so a scanner cannot
grow the metrics without bound) and lets the open ones through without an API key.
"""

ROUTES = ("/predict", "/explain", "/feedback", "/health", "/ready", "/metrics", "/model")
ADMIN_RELOAD = "/admin/reload"
OPEN_PATHS = frozenset({"/health", "/docs", "/openapi.json", "/docs/oauth2-redirect", "/redoc"})
