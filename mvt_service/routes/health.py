"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from mvt_service.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving HTTP."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    """The store answers; 503 otherwise. Also reports the decision log's backlog, the policy
    version this worker serves per experiment, and any active policy it could not load."""
    runtime = services.runtime
    details = {
        "store": "ok",
        "decision_log": {"pending": services.writer.pending, "write_failures": services.writer.failures},
        "policies": runtime.served_policies(),
        "policy_errors": {e: {"version": v, "error": msg} for e, (v, msg) in runtime.policy_errors.items()},
    }
    try:
        await run_in_threadpool(services.store.ping)
    except Exception as exc:
        details["store"] = f"unreachable: {type(exc).__name__}"
        return JSONResponse({"status": "unavailable", **details}, status_code=503)
    return JSONResponse({"status": "ready", **details})
