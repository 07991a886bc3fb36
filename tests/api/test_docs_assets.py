"""The documentation pages' vendored assets load nothing from the internet: no script, style,
font or image of theirs names a remote resource to fetch (links a person may click are fine)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

VENDOR = Path(__file__).parents[2] / "mvt_service" / "static" / "vendor"
FETCHED = re.compile(r"""(?:\bsrc\s*[:=]\s*|url\(\s*|@import\s+)["']?(https?:)?//[^"')\s]+""")
"""A resource a page would fetch: an element's ``src``, a CSS ``url(…)`` or ``@import``."""


@pytest.mark.parametrize("asset", sorted(p for p in VENDOR.rglob("*") if p.suffix in (".js", ".css")), ids=str)
def test_no_vendored_asset_fetches_anything_remote(asset: Path) -> None:
    found = [m.group(0)[:120] for m in FETCHED.finditer(asset.read_text(encoding="utf-8"))]
    assert found == [], f"{asset.name} fetches {found}: serve it locally (see vendor/README.md)"


@pytest.mark.parametrize("scheme", ["https:", "http:", ""], ids=["https", "http", "protocol-relative"])
def test_the_check_finds_what_it_should(scheme: str) -> None:
    """Samples of what a bundle may hold, each built from its parts so that this file names no
    remote resource itself."""
    remote = f"{scheme}//cdn.example.com"
    assert FETCHED.search(f'{{src:"{remote}/logo.svg"}}')
    assert FETCHED.search(f"background: url({remote}/a.woff2)")
    assert FETCHED.search(f'@import "{remote}/fonts.css";')
    assert not FETCHED.search(f'{{href:"{remote}/redoc/"}}')
