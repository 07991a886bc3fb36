"""The API documentation pages, Swagger UI (``/docs``) and ReDoc (``/redoc``), from copies
served by the service (``mvt_service/static/vendor``, with their licenses): no CDN, no fonts
from elsewhere, no validator badge calling out, so they work on a machine without internet."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from mvt_service.pages import page

router = APIRouter(include_in_schema=False)

VENDOR = "/static/vendor"

SWAGGER_UI = f"""<div id="swagger-ui"></div>
<script src="{VENDOR}/swagger-ui/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  persistAuthorization: true,
  validatorUrl: null,
}});
</script>"""

REDOC = f"""<redoc spec-url="/openapi.json"></redoc>
<script src="{VENDOR}/redoc/redoc.standalone.js"></script>"""


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    return page("mvt API", f'<link rel="stylesheet" href="{VENDOR}/swagger-ui/swagger-ui.css">', SWAGGER_UI)


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    return page("mvt API", "<style>body { margin: 0; padding: 0; }</style>", REDOC)
