"""Production monitoring: reference profiles, drift, data quality, performance, health,
impact, alert rules, notifiers and retraining (`mlconf monitor`)."""

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    """`mlconf.monitor(...)` is the public API function; importing this package (which
    Python then also binds as `mlconf.monitor`) must not take the name away from it."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from mlconf.api import monitor

        return monitor(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
