"""docker/serve.Dockerfile (issue 17, item 6): its build context holds what it copies, and
the command it runs is a valid `mlconf serve` command line. A build runs only where a
Docker daemon answers (it needs network access for the base image and the pins)."""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

import mlconf
from mlconf.serve.command import settings_of

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "docker" / "serve.Dockerfile"
IGNORE = ROOT / "docker" / "serve.Dockerfile.dockerignore"


def context_sources() -> list[str]:
    """The sources of the COPY lines that read the main build context (not the bundle)."""
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from=") for w in words):
            sources += words[1:-1]
    return sources


def included(path: str) -> bool:
    """Whether the .dockerignore lets `path` into the context (last matching rule wins)."""
    keep = True
    for rule in IGNORE.read_text().splitlines():
        rule = rule.strip()
        if not rule or rule.startswith("#"):
            continue
        negate, pattern = rule.startswith("!"), rule.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            keep = negate
    return keep


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    sources = context_sources()
    assert {"mlconf", "conf", "pyproject.toml"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), source
        assert included(source), f"{source} is excluded by {IGNORE.name}"
    assert not included("experiments") and not included("tests")
    assert "--from=bundle requirements.txt" in DOCKERFILE.read_text()


def test_the_container_command_is_a_valid_serve_command(tmp_path: Path) -> None:
    text = DOCKERFILE.read_text()
    env = dict(re.findall(r"(MLCONF_\w+)=(\S+)", text.split("CMD")[0]))
    command = re.search(r'CMD \["sh", "-c", "exec (.*)"\]', text)
    assert command is not None
    words = shlex.split(re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], command.group(1)))
    assert words[:2] == ["mlconf", "serve"]
    model, url, settings = settings_of(mlconf.compose("serve", words[2:]))
    assert model == "/srv/bundle/model" and url == "sqlite:////srv/data/mlconf.db"
    assert (settings.host, settings.port, settings.workers) == ("0.0.0.0", 8000, 1)  # noqa: S104


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _docker_answers(), reason="no Docker daemon here")
def test_the_image_builds(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "model").mkdir(parents=True)
    (bundle / "requirements.txt").write_text("# no pins\n")
    build = ["docker", "build", "-f", str(DOCKERFILE), "--build-context", f"bundle={bundle}",
             "-t", "mlconf-serve-test", str(ROOT)]  # fmt: skip
    assert subprocess.run(build, check=False).returncode == 0
