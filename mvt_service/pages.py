"""The service's own HTML pages (the API documentation and the console): one shell, and one
content security policy that keeps every page to the service's own origin, so a page that
tried to fetch from the internet (which a user's machine may not reach) is stopped by the
browser rather than left waiting."""

from __future__ import annotations

from fastapi.responses import HTMLResponse

SAME_ORIGIN = {
    "content-security-policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'"
}


def page(title: str, head: str, body: str) -> HTMLResponse:
    """A page of ``body``, with ``head`` (styles, links) after the shared ``<head>`` lines."""
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{head}
</head>
<body>
{body}
</body>
</html>
"""
    return HTMLResponse(html, headers=SAME_ORIGIN)
