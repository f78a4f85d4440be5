"""The service's JSON response class."""

from typing import Any

from fastapi.responses import JSONResponse

from mlconf.core import strict_json


class StrictJSONResponse(JSONResponse):
    """Every answer is strict JSON: a non-finite number becomes null instead of a 500
    (Starlette refuses NaN and Infinity when rendering)."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


# One encoder for answers and the prediction log (mlconf.core.strict_json.compact).
dumps = strict_json.compact
