"""The audit log of operator changes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Query

from mvt_service.auth import require_operator
from mvt_service.deps import StoreDep
from mvt_service.routing import ApiRoute

router = APIRouter(route_class=ApiRoute, prefix="/v1/audit", tags=["audit"], dependencies=[Depends(require_operator)])


@router.get("")
def list_audit(
    store: StoreDep,
    experiment: str | None = Query(None, description="only this experiment"),
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """Operator changes, newest first: when, who (key id, never the key), what, before and after."""
    return [asdict(entry) for entry in store.audit.list(experiment, limit)]
