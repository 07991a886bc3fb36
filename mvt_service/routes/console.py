"""The operator console at ``/console``: one page whose script (``/static/console.js``) calls the
HTTP API with the operator key the person signs in with (kept in the browser tab's session
storage, sent as a bearer token, never put in a URL). The page itself holds no data: without a
valid operator key every call it makes is refused and it shows the sign-in form."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from mvt_service.pages import page

router = APIRouter(include_in_schema=False)

STYLE = """<style>
  body { font-family: system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
  header { display: flex; justify-content: space-between; align-items: center; padding: .6rem 1.5rem;
           background: #1f2933; color: #fff; }
  header a { color: #fff; text-decoration: none; font-weight: 600; }
  main { max-width: 64rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
  table { border-collapse: collapse; margin: .5rem 0 1rem; background: #fff; }
  th, td { padding: .35rem .7rem; border-bottom: 1px solid #e2e2e2; text-align: left; vertical-align: top; }
  td.number { text-align: right; font-variant-numeric: tabular-nums; }
  td.why { max-width: 34rem; font-size: .85rem; color: #444; }
  section { margin-top: 1.5rem; }
  form { margin: .5rem 0; }
  #login { max-width: 22rem; margin: 4rem auto; display: grid; gap: .5rem; }
  input[type=number] { width: 5rem; }
  button { padding: .35rem .8rem; border: 1px solid #8a8a8a; border-radius: 4px; background: #fff; cursor: pointer; }
  button[type=submit], #pause, #resume { background: #1f2933; color: #fff; border-color: #1f2933; }
  .error { color: #a11; } .done { color: #1b5e20; }
  iframe { width: 100%; height: 36rem; border: 1px solid #ddd; background: #fff; }
  figure { margin: 1rem 0; } figcaption { font-weight: 600; margin-bottom: .3rem; }
  .legend { font-size: .85rem; color: #444; margin: .2rem 0; }
  .swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; vertical-align: middle; }
  .bar { display: inline-block; height: .7rem; background: #1f77b4; vertical-align: middle; }
  .alerts li, td.alert { color: #a11; }
  table.segment { display: inline-table; margin-right: 1.5rem; vertical-align: top; }
  caption { text-align: left; font-weight: 600; padding: .2rem 0; }
  #health th { font-weight: normal; }
</style>"""

BODY = """<header><a href="#/">mvt console</a><span id="who"></span></header>
<main><p>Loading…</p></main>
<div id="notice" style="max-width: 64rem; margin: 0 auto; padding: 0 1.5rem;"></div>
<script type="module" src="/static/console.js"></script>"""


@router.get("/console", response_class=HTMLResponse)
def console() -> HTMLResponse:
    return page("mvt console", STYLE, BODY)
