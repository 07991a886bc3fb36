"""Liveness and readiness probes, and the Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from mvt_service.auth import require_operator
from mvt_service.deps import ServicesDep
from mvt_service.routing import ApiRoute

router = APIRouter(route_class=ApiRoute, tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving HTTP."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready: the store is unreachable or the log is backed up"}})
async def readyz(services: ServicesDep) -> JSONResponse:
    """Ready when the store answers and the decision log is written (its writer runs, its
    backlog is within ``MVT_LOG_READY_BACKLOG``); 503 otherwise. Also reports the log's backlog
    and spool, the policy version and the candidate this worker serves per experiment, and any
    it could not load."""
    runtime, writer = services.runtime, services.writer
    log_healthy, writer_state = writer.healthy, "running" if writer.alive else "down"
    writer.ensure_running()  # a dead writer is reported as found, and started again
    details: dict[str, Any] = {
        "store": "ok",
        "log": {
            "writer": writer_state,
            "pending": writer.pending,
            "spool_bytes": writer.spool_bytes,
        },
        "policies": runtime.served_policies("active"),
        "candidates": runtime.served_policies("candidate"),
        "policy_errors": runtime.load_errors("active"),
        "candidate_errors": runtime.load_errors("candidate"),
    }
    try:
        await run_in_threadpool(services.store.backend.ping)
    except Exception as exc:
        details["store"] = f"unreachable: {type(exc.__cause__ or exc).__name__}"  # the driver's error
    ready = details["store"] == "ok" and log_healthy
    return JSONResponse({"status": "ready" if ready else "unavailable", **details}, status_code=200 if ready else 503)


@router.get("/metrics", dependencies=[Depends(require_operator)], response_class=PlainTextResponse)
def prometheus_metrics() -> Response:
    """This worker's metrics in Prometheus's text format (operator key, as a bearer token)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
