"""Find the programs tests run: the ones the test extras install, and optional system ones.

A tool the project installs lives in the running interpreter's environment (its scripts
folder), whether or not that folder is on ``PATH``: the README's test command runs
``.venv/bin/python -m pytest`` without activating anything. A system tool the project does not
install (a browser, ``wrk``) may be absent; its tests then skip and say why.
"""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

import pytest


def installed_tool(name: str) -> str:
    """The path of ``name`` as installed into this interpreter's environment.

    Fails (never skips) if it is missing: the test extras install it, so its absence is a
    broken install, not an optional tool.
    """
    path = Path(sysconfig.get_path("scripts")) / name
    if not path.is_file():
        pytest.fail(
            f"{name} is not installed next to {sysconfig.get_path('scripts')}: "
            "install the test extras (pip install -e '.[test]')"
        )
    return str(path)


def system_tool(name: str, install_hint: str) -> str:
    """The path of an optional system program on ``PATH``; skips the test, saying how to
    install it, when there is none."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed ({install_hint})")
    return path
