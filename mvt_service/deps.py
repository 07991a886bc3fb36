"""Dependency aliases that keep handler signatures readable.

The getters are ``async`` so FastAPI calls them on the event loop; a plain ``def`` dependency
would cost a thread-pool round trip on every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from mvt_service.log_writer import LogWriter
from mvt_service.runtime import Runtime
from mvt_service.settings import Settings
from store.repositories import Store
from trainer.schedule import Scheduler


@dataclass(frozen=True)
class Services:
    """What the lifespan opened for this app: one of each per worker."""

    settings: Settings
    store: Store
    runtime: Runtime
    writer: LogWriter
    scheduler: Scheduler


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.services.store
    return store


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.services.runtime
    return runtime


ServicesDep = Annotated[Services, Depends(get_services)]
StoreDep = Annotated[Store, Depends(get_store)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
