"""The service's routes, one router per concern, in the order the OpenAPI document lists them."""

from fastapi import APIRouter

from mlconf.serve.routes import (
    admin,
    explain,
    feedback,
    health,
    metrics,
    model,
    predict,
    protocols,
)

ROUTERS: tuple[APIRouter, ...] = (
    predict.router,
    explain.router,
    feedback.router,
    health.router,
    metrics.router,
    model.router,
    admin.router,
    protocols.router,
)
