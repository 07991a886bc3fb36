"""The browser client, served by the service so that a page needs no build step and no CDN."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Response

from mvt_service.routing import ApiRoute

router = APIRouter(route_class=ApiRoute, prefix="/v1", tags=["browser client"])

CLIENT_JS = files("mvt_service").joinpath("static/client.js").read_bytes()


@router.get(
    "/client.js",
    summary="The browser client",
    response_class=Response,
    responses={200: {"content": {"text/javascript": {}}, "description": "a dependency-free ES module"}},
)
def client_js() -> Response:
    """The ES module a page imports to ask for decisions and send rewards (see the README's
    "Integrating" section). Public: it holds no key."""
    return Response(CLIENT_JS, media_type="text/javascript; charset=utf-8", headers={"cache-control": "max-age=300"})
