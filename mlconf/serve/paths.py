"""The service's URL paths, shared by the routes and the middleware in front of them.

The middleware names metrics by these paths (anything else is "other", so a scanner cannot
grow the metrics without bound) and lets the open ones through without an API key.
"""

ROUTES = (
    "/predict",
    "/explain",
    "/feedback",
    "/health",
    "/ready",
    "/metrics",
    "/model",
    "/invocations",
    "/ping",
    "/v2",
    "/v2/health/live",
    "/v2/health/ready",
)
ADMIN_RELOAD = "/admin/reload"
KNOWN_PATHS = frozenset((*ROUTES, ADMIN_RELOAD))
# Open Inference Protocol v2 paths that name the model: counted under these names.
V2_MODEL = "/v2/models/{name}"
V2_INFER = "/v2/models/{name}/infer"


def route_name(path: str) -> str:
    """The route a path is counted under; "other" for any path the service does not have."""
    if path in KNOWN_PATHS:
        return path
    if path.startswith("/v2/models/"):
        return V2_INFER if path.endswith("/infer") else V2_MODEL
    return "other"


def is_scoring(path: str) -> bool:
    """A path whose POST requests reach the scorer (they may be micro-batched)."""
    return path in ("/predict", "/invocations") or (
        path.startswith("/v2/models/") and path.endswith("/infer")
    )


OPEN_PATHS = frozenset(
    {
        "/health",
        "/docs",
        "/openapi.json",
        "/docs/oauth2-redirect",
        "/redoc",
        "/ping",
        "/v2/health/live",
    }
)
