"""The README's worked command-line example runs as written against a fresh service."""

from __future__ import annotations

import shlex
from pathlib import Path

from mvt_service import cli

README = Path(__file__).parents[2] / "README.md"


def worked_example() -> list[str]:
    """The ``$ mvt …`` lines of the Command line section's example."""
    section = README.read_text().split("## Command line", 1)[1].split("\n## ", 1)[0]
    return [line[2:] for line in section.splitlines() if line.startswith("$ mvt ")]


def test_the_readme_example_runs_verbatim(live_server: str, tmp_path, monkeypatch, capsys) -> None:
    commands = worked_example()
    assert [c.split()[1] for c in commands] == ["simulate", "train", "replay"]
    monkeypatch.chdir(tmp_path)  # the simulation writes its files here
    for command in commands:
        argv = shlex.split(command.replace("http://127.0.0.1:8000", live_server))[1:]
        assert cli.main(argv) == 0, command
    out = capsys.readouterr().out
    assert "experiment  shop" in out and "replay report of shop" in out
