"""The API documentation pages, Swagger UI (``/docs``) and ReDoc (``/redoc``), from copies
served by the service (``mvt_service/static/vendor``, with their licenses): no CDN, no fonts
from elsewhere, no validator badge calling out, so they work on a machine without internet.
Their content security policy keeps them to the service's own origin: ReDoc's sidebar would
load its maker's logo from a CDN; the browser does not ask."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

VENDOR = "/static/vendor"

SWAGGER_UI = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mvt API</title>
<link rel="stylesheet" href="{VENDOR}/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
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
</script>
</body>
</html>
"""

REDOC = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mvt API</title>
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="{VENDOR}/redoc/redoc.standalone.js"></script>
</body>
</html>
"""


SAME_ORIGIN = {
    "content-security-policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'"
}


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    return HTMLResponse(SWAGGER_UI, headers=SAME_ORIGIN)


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    return HTMLResponse(REDOC, headers=SAME_ORIGIN)
