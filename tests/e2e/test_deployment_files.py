"""docker/: the Dockerfile passes hadolint, the compose file validates against the compose
specification, and both run the same `mvt` commands that the rest of the suite tests. (No
Docker engine runs on the CI machines, so the image itself is not built here.)"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from mvt_service.cli import build_parser
from tests.tools import installed_tool

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_dockerfile_passes_hadolint() -> None:
    result = run(installed_tool("hadolint"), "--failure-threshold", "info", str(DOCKER / "Dockerfile"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_file_follows_the_compose_specification() -> None:
    result = run(
        sys.executable,
        "-m",
        "check_jsonschema",
        "--builtin-schema",
        "vendor.compose-spec",
        str(DOCKER / "compose.yaml"),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_and_the_stack_run_tested_mvt_commands() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["mvt"]' in dockerfile and 'CMD ["serve"]' in dockerfile
    assert "USER 10001:10001" in dockerfile and "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    stack = yaml.safe_load((DOCKER / "compose.yaml").read_text())["services"]
    parser = build_parser()
    for name in ("api", "trainer"):
        args = [a.replace("${MVT_WORKERS:-2}", "2") for a in stack[name]["command"]]
        parsed = parser.parse_args(args)  # exits on an unknown command or option
        assert parsed.run.__module__.startswith("mvt_service.cli"), shlex.join(args)
        assert stack[name]["environment"]["MVT_MONGO_URI"].endswith("replicaSet=rs0")
        assert stack[name]["depends_on"]["mongo"]["condition"] == "service_healthy"
    assert "--replSet" in stack["mongo"]["command"] and stack["api"]["environment"]["MVT_TRAIN_IN_PROCESS"] == "false"


def test_the_image_copies_every_package_the_project_installs() -> None:
    with open(DOCKER.parent / "pyproject.toml", "rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = {line.split()[1] for line in (DOCKER / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")}
    assert {p.removesuffix("*") for p in patterns} <= copied
