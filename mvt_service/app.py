"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import random
import socket
import sys
import threading
import uuid
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from mvt_service import metrics
from mvt_service.auth import KeyRing
from mvt_service.body_limit import BodyLimitMiddleware
from mvt_service.cors import ClientCors, parse_origins
from mvt_service.demo import demo_experiment
from mvt_service.deps import Services
from mvt_service.errors import install_error_handlers
from mvt_service.fast_decisions import FastDecisions
from mvt_service.log_writer import LogWriter
from mvt_service.openapi import install_openapi
from mvt_service.routes import (
    audit,
    client,
    console,
    decisions,
    docs,
    experiments,
    health,
    policies,
    reports,
    rewards,
)
from mvt_service.runtime import Runtime
from mvt_service.settings import Settings, open_backend
from mvt_service.spool import Quarantine, Spool
from policy.records import Clock, utcnow
from store.repositories import Backend
from trainer.schedule import Scheduler

log = logging.getLogger(__name__)

GC_THRESHOLD = 50_000
"""Allocations between two collections of the interpreter's youngest generation while the app
runs (Python's default is 700). Every request allocates hundreds of objects, so at the default
the collector runs every few requests; at 50,000 (with the objects of the start frozen, and
the embedded store's documents as they are stored: :mod:`store.mongo.mongomock_client`) decisions
went from 2,081 to 2,873 a second and their p99 from 84 to 26 ms (BENCHMARKS.md). Cyclic garbage
still goes, a little later."""

SWITCH_SECONDS = 0.0005
"""The interpreter's thread switch interval while the app runs: a request waits at most this
long for the lock that the log writer's thread (on the embedded store, a batch of inserts is
tens of milliseconds of Python) or a training cycle in process holds. At Python's 5 ms the
writer's batches made the decision p99 3.3× that of ``/healthz``; at 0.5 ms 2.1× (BENCHMARKS.md);
during a training cycle in process the p99 went from 8.8× to 3.0× the idle one."""


def owner_id(role: str) -> str:
    """Who holds a lease: host, process and a random suffix, never a secret."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def create_app(
    settings: Settings | None = None,
    backend: Backend | None = None,
    clock: Clock = utcnow,
    *,
    fast_path: bool = True,
) -> FastAPI:
    """Build the API. Nothing is opened until the app starts.

    Parameters
    ----------
    settings
        Defaults to ``Settings()`` read from the environment.
    backend
        A database to use instead of opening one from ``settings`` (several apps sharing one
        embedded store stand for several workers in tests); the caller closes it.
    clock
        The time of everything the service stamps and of its training cycles (tests pass a
        controllable clock instead of waiting for attribution windows to close).
    fast_path
        Answer valid decision requests before the framework's routing
        (:mod:`mvt_service.fast_decisions`); False sends every request the framework's way
        (tests compare the two).
    """
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = open_backend(settings) if backend is None else backend
        store = database.store(clock, settings.pending_seconds)
        store.backend.ensure_schema(settings.retention_days)
        if settings.embedded and settings.demo and store.experiments.insert_if_absent(demo_experiment()):
            log.info("seeded the demo experiment `home`")
        if app.state.keys.open:
            log.warning(
                "NO API KEYS CONFIGURED: anyone who can reach this service may change experiments "
                "(set MVT_CLIENT_KEYS and MVT_OPERATOR_KEYS)"
            )
        writer = LogWriter(
            store,
            Spool(settings.spool_dir, settings.spool_max_bytes),
            Quarantine(settings.spool_dir),
            batch_size=settings.log_batch_size,
            flush_seconds=settings.log_flush_seconds,
            queue_max=settings.log_queue_max,
            ready_backlog=settings.log_ready_backlog,
        )
        writer.start()
        runtime = Runtime(store, writer, random.Random(settings.seed))
        await runtime.refresh()
        poller = asyncio.create_task(runtime.poll(settings.reload_seconds))
        scheduler = Scheduler(
            store,
            owner_id("serve"),
            lease_seconds=settings.trainer_lease_seconds,
            clock=clock,
            failed=metrics.count_training_failure,
        )
        stop_training = threading.Event()
        trainer = threading.Thread(
            target=scheduler.run_forever,
            args=(stop_training, settings.trainer_poll_seconds),
            name="mvt-trainer",
            daemon=True,
        )
        switch_interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
        gc.freeze()  # what the start built lives as long as the app: no collection looks at it again
        gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
        sys.setswitchinterval(SWITCH_SECONDS)
        if settings.trains_in_process:
            trainer.start()
        app.state.services = Services(settings, store, runtime, writer, scheduler)
        try:
            yield
        finally:
            stop_training.set()
            if trainer.is_alive():
                trainer.join()
            sys.setswitchinterval(switch_interval)
            gc.set_threshold(*thresholds)
            gc.unfreeze()
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            writer.close()
            runtime.close()
            if backend is None:
                database.close()

    app = FastAPI(
        title="mvt",
        version="0.1.0",
        summary="Contextual-bandit decisions for multivariate tests of web pages",
        lifespan=lifespan,
        docs_url=None,  # served from vendored copies instead (mvt_service/routes/docs.py)
        redoc_url=None,
    )
    app.state.keys = KeyRing.from_settings(settings.client_keys, settings.operator_keys)
    if fast_path:  # inside the body limit, which bounds what it reads
        app.add_middleware(FastDecisions)
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout_seconds=settings.body_timeout_seconds
    )
    origins = parse_origins(settings.cors_origins)
    if origins:  # outermost, so that errors answered by the middlewares below carry its headers too
        app.add_middleware(ClientCors, origins=origins)
    install_error_handlers(app)
    # hottest first: the router tries them in this order
    for module in (decisions, rewards, health, experiments, policies, reports, audit, client, docs, console):
        app.include_router(module.router)
    install_openapi(app)
    app.mount("/static", StaticFiles(packages=[("mvt_service", "static")]), name="static")
    return app
