"""The README's examples run as written against a fresh service: the Quickstart's curl block and
the Command line section's worked example."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

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


def quickstart_block() -> str:
    """The Quickstart's shell block that asks the fresh service for decisions and posts a reward."""
    section = README.read_text().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    after = section.split("so you can ask\nfor a decision at once:", 1)[1]
    return after.split("```bash\n", 1)[1].split("```", 1)[0]


def shown_answers(block: str) -> list[dict[str, object]]:
    """The answers the block shows, as comments after its commands, in order ("…" stands for
    what varies from run to run)."""
    answers, current = [], ""
    for line in block.splitlines():
        text = line[2:].strip() if line.startswith("# ") else ""
        if text.startswith("{") or (current and text):
            current += text
            if current.count("{") == current.count("}"):
                answers.append(json.loads(current.replace("…", "")))
                current = ""
    return answers


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed (.ci/run installs it)")
def test_the_quickstart_examples_answer_as_shown(live_server: str) -> None:
    """The Quickstart's curl block, run by bash as written against a fresh service (the demo
    experiment seeded, no policy yet), answers what the README shows: the same fields, the
    same values where they do not vary, and a reward accepted for the decision just made."""
    block = quickstart_block()
    shown = shown_answers(block)
    assert len(shown) == 2, shown
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.replace("localhost:8000", live_server.removeprefix("http://"))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    decoder, answers, rest = json.JSONDecoder(), [], run.stdout.strip()
    while rest:
        answer, end = decoder.raw_decode(rest)
        answers.append(answer)
        rest = rest[end:].strip()
    assert [set(a) for a in answers] == [set(s) for s in shown]
    decision, reward = answers
    for field in ("experiment", "probability", "policy_version", "explored"):
        assert decision[field] == shown[0][field], field
    assert decision["event_id"] and decision["action"].count(",") == 2
    assert reward == shown[1] == {"accepted": 1}


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_to_a_section_names_a_heading() -> None:
    text = README.read_text()
    headings = {anchor(h) for h in re.findall(r"^#{2,4} (.+)$", text, flags=re.MULTILINE)}
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert links and links <= headings, links - headings
