"""The service's JSON response class."""

from typing import Any

import orjson
from fastapi.responses import JSONResponse

from mlconf.core import strict_json


class StrictJSONResponse(JSONResponse):
    """Every answer is strict JSON: a non-finite number becomes null instead of a 500
    (Starlette refuses NaN and Infinity when rendering)."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


# orjson writes NaN and Infinity as null, as strict_json does; what it would write
# differently (datetimes, dataclasses, subclasses, non-text keys, huge ints) it refuses.


_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def dumps(content: Any) -> bytes:
    """`content` as compact strict JSON: orjson, or strict_json for what orjson refuses."""
    try:
        return orjson.dumps(content, option=_OPTIONS)
    except TypeError:
        return strict_json.dumps(content, separators=(",", ":")).encode("utf-8")


def dumps_each(items: list[Any]) -> list[str]:
    """Each of `items` as compact strict JSON text (a request's rows for the log): orjson
    called directly while it can write them, dumps() from the first item it refuses on."""
    texts: list[str] = []
    try:
        for item in items:
            texts.append(orjson.dumps(item, option=_OPTIONS).decode())
    except TypeError:
        texts.extend(dumps(item).decode() for item in items[len(texts) :])
    return texts
