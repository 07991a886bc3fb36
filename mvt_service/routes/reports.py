"""Replay reports of an experiment's training cycles, and the export of its joined log."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

from mvt_service.auth import require_operator
from mvt_service.deps import StoreDep
from mvt_service.errors import NotFound
from mvt_service.routes.experiments import ExperimentId, existing
from mvt_service.routing import ApiRoute
from policy.experiment import Experiment
from replay.html import comparison_sentence, render_report
from store.records import AuditAction, training_lease
from trainer.export import dsjson_lines
from trainer.insights import summary
from trainer.join import closed_examples

router = APIRouter(
    route_class=ApiRoute,
    prefix="/v1/experiments/{experiment_id}",
    tags=["reports"],
    dependencies=[Depends(require_operator)],
)


@router.get("/reports")
def list_reports(
    store: StoreDep, experiment_id: str = ExperimentId, limit: int = Query(50, ge=1, le=500)
) -> list[dict[str, Any]]:
    """The experiment's replay reports, newest first: verdict, split and the gate's comparison,
    with ``sentence``, the comparison in the report page's words (the per-policy estimates are
    in ``/reports/latest``)."""
    existing(store, experiment_id)
    keys = ("experiment", "candidate_version", "active_version", "created_at", "split", "comparison", "verdict")
    reports = [r.document for r in store.reports.list(experiment_id, limit)]
    return [{**{k: r[k] for k in keys}, "sentence": comparison_sentence(r)} for r in reports]


@router.get("/reports/latest", responses={200: {"content": {"text/html": {}}}})
def latest_report(
    store: StoreDep,
    experiment_id: str = ExperimentId,
    format: Literal["json", "html"] | None = Query(None, description="html for a page (or send Accept: text/html)"),
    accept: str = Header("application/json"),
) -> Response:
    """The newest replay report, as JSON or as a self-contained HTML page."""
    existing(store, experiment_id)
    reports = store.reports.list(experiment_id, limit=1)
    if not reports:
        raise NotFound(f"experiment `{experiment_id}` has no replay report yet: run a training cycle")
    wants_html = format == "html" or (format is None and "text/html" in accept)
    if wants_html:
        return HTMLResponse(render_report(reports[0].document))
    return JSONResponse(jsonable_encoder(reports[0].document))


CHANGES: set[AuditAction] = {
    "policy_promoted",
    "policy_retired",
    "activate_policy",
    "pause",
    "resume",
    "set_exploration",
    "set_holdout",
}
"""Audited actions shown as marks on the console's charts."""


@router.get("/summary")
def experiment_summary(
    store: StoreDep,
    experiment_id: str = ExperimentId,
    hours: float = Query(24.0, gt=0, le=720, description="the last this many hours"),
) -> dict[str, Any]:
    """How the experiment is doing now (the console's figures): decisions and reward over time by
    serving group, data health with the holdout's sample-ratio check, segments by context
    feature, which features the serving policy's choices depend on, training status, the changes
    of the window (promotions, rollbacks, pauses) and alerts in words."""
    experiment = existing(store, experiment_id)
    now = store.clock()
    found = summary(store, experiment, now, hours=hours)
    lease = store.leases.get(training_lease(experiment_id))
    found["training"] = {
        "interval_seconds": experiment.training.interval_seconds,
        "last_finished": lease.last_finished if lease else None,
        "failures": lease.failures if lease else 0,
        "last_error": lease.last_error if lease else None,
    }
    found["changes"] = [
        {"ts": a.ts, "action": a.action, "before": a.before, "after": a.after}
        for a in store.audit.list(experiment_id, limit=200)
        if a.action in CHANGES and a.ts >= found["from"]
    ]
    found["alerts"] = alerts(experiment, found)
    return dict(jsonable_encoder(found))


def alerts(experiment: Experiment, found: dict[str, Any]) -> list[str]:
    """What needs an operator's eye, in words."""
    said = []
    if experiment.paused:
        said.append("paused: every visitor gets the default layout")
    if found["training"]["failures"]:
        said.append(
            f"training failed {found['training']['failures']} time(s) in a row: {found['training']['last_error']}"
        )
    ratio = found["health"]["holdout_ratio"]
    if ratio and ratio["p_value"] < 0.001:
        said.append(
            f"the holdout gets {ratio['observed']:.1%} of visitors where {ratio['expected']:.1%} is configured "
            f"(p = {ratio['p_value']:.1g}): check how visitors are split"
        )
    if not found["health"]["decisions"]:
        said.append("no decision in the window")
    return said


@router.get("/export", response_class=StreamingResponse, responses={200: {"content": {"application/x-ndjson": {}}}})
def export(
    store: StoreDep,
    experiment_id: str = ExperimentId,
    format: Literal["dsjson"] = Query("dsjson", description="Vowpal Wabbit decision-service JSON"),
) -> StreamingResponse:
    """Every closed-window decision with its joined reward, one DSJSON object per line, in event
    id order; readable by ``vw --cb_explore_adf --dsjson``."""
    experiment = existing(store, experiment_id)
    lines = dsjson_lines(closed_examples(store, experiment, store.clock()), experiment.arms)
    return StreamingResponse(lines, media_type="application/x-ndjson")
