"""`POST /admin/reload`: swap in the model the ref points at now, without downtime."""

from typing import Any

from fastapi import APIRouter

from mlconf.serve.dependencies import Service
from mlconf.serve.paths import ADMIN_RELOAD

router = APIRouter()


@router.post(ADMIN_RELOAD)
async def admin_reload(state: Service) -> dict[str, Any]:
    """Re-read the model ref (e.g. the production alias) and swap models without downtime;
    with several workers, every worker reloads."""
    from mlconf.serve.fleet import announce_reload, run_folder

    answer = await state.reload(only_if_changed=False)
    folder = run_folder()
    if folder is not None:
        state.announced = announce_reload(folder)
    return answer
