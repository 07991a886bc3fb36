"""The repository holds source, not packages or build output: a tracked wheel or archive, or a
file over 1 MB outside the vendored web assets, fails here (three wheels once sat at the root,
2.8 MB that nothing used)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (".whl", ".tar.gz", ".egg", ".zip")
MAX_BYTES = 1_000_000
VENDORED = "mvt_service/static/vendor/"


def tracked() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: there is no list of tracked files to check")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def test_no_package_or_build_output_is_tracked() -> None:
    assert [name for name in tracked() if name.endswith(PACKAGES)] == []


def test_no_tracked_file_outside_the_vendored_assets_is_over_1_mb() -> None:
    big = [
        name
        for name in tracked()
        if not name.startswith(VENDORED) and (ROOT / name).is_file() and (ROOT / name).stat().st_size > MAX_BYTES
    ]
    assert big == []
