"""The Containerfile and deploy/ manifests, checked offline (no image registry is reachable here, so the
image is not built): hadolint, the Kubernetes API schemas, yamllint, systemd-analyze, and the facts an
operator relies on. Every sharescan command line in them must parse with the sharescan of this tree."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent
YAMLLINT = "{extends: default, rules: {line-length: {max: 120}, document-start: disable}}"


def tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else name


def k8s_documents() -> list[dict[str, Any]]:
    return [d for p in sorted((DEPLOY / "kubernetes").glob("*.yaml"))
            for d in yaml.safe_load_all(p.read_text(encoding="utf-8")) if d]


def cronjobs() -> list[dict[str, Any]]:
    return [d for d in k8s_documents() if d["kind"] == "CronJob"]


def test_containerfile_passes_hadolint() -> None:
    result = subprocess.run([tool("hadolint"), "--no-color", str(REPO / "Containerfile")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_containerfile_is_multistage_non_root_and_bakes_the_model() -> None:
    text = (REPO / "Containerfile").read_text(encoding="utf-8")
    assert len(re.findall(r"^FROM ", text, flags=re.M)) == 2
    assert "COPY --from=build /opt/sharescan /opt/sharescan" in text
    assert '".[nlp,postgres]"' in text  # the spaCy model (nlp extra) is installed at build time
    assert "compileall" in text and "PYTHONDONTWRITEBYTECODE=1" in text  # nothing to write under a read-only root
    users = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert users == ["10001:10001"]
    assert 'ENTRYPOINT ["sharescan"]' in text


def test_kubernetes_manifests_match_the_api_schemas() -> None:
    files = sorted(str(p) for p in (DEPLOY / "kubernetes").glob("*.yaml"))
    result = subprocess.run([tool("kubernetes-validate"), "--strict", "--quiet", *files], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_yaml_files_pass_yamllint() -> None:
    result = subprocess.run([tool("yamllint"), "-f", "parsable", "-d", YAMLLINT, str(DEPLOY)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and not result.stdout, result.stdout + result.stderr


def test_cronjobs_never_overlap_upgrade_first_and_keep_keys_owner_only() -> None:
    jobs = cronjobs()
    assert {j["metadata"]["name"] for j in jobs} == {"sharescan", "sharescan-full"}
    for job in jobs:
        spec = job["spec"]
        assert spec["concurrencyPolicy"] == "Forbid"
        pod = spec["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        secret = next(v for v in pod["volumes"] if "secret" in v)["secret"]
        assert secret["defaultMode"] == 0o400
        keys = next(c for c in pod["initContainers"] if c["name"] == "keys")
        assert "install -m 0400" in keys["command"][-1]
        for container in pod["initContainers"] + pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
    nightly = next(j for j in jobs if j["metadata"]["name"] == "sharescan")
    inits = nightly["spec"]["jobTemplate"]["spec"]["template"]["spec"]["initContainers"]
    assert [c.get("args") for c in inits] == [None, ["db", "upgrade"]]


def deployments() -> list[dict[str, Any]]:
    return [d for d in k8s_documents() if d["kind"] == "Deployment"]


def test_the_watcher_runs_alone_non_root_with_owner_only_keys() -> None:
    (watch,) = deployments()
    spec = watch["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"  # never two watchers at once
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert next(v for v in pod["volumes"] if "secret" in v)["secret"]["defaultMode"] == 0o400
    assert [c.get("args") for c in pod["initContainers"]] == [None, ["db", "upgrade"]]
    assert pod["containers"][0]["args"][0] == "watch"
    for container in pod["initContainers"] + pod["containers"]:
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    unit = (DEPLOY / "systemd" / "sharescan-watch.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/sharescan/bin/sharescan watch" in unit and "Restart=on-failure" in unit


def command_lines() -> list[list[str]]:
    """Every sharescan invocation in the deploy files (Kubernetes args, systemd ExecStart, compose)."""
    out: list[list[str]] = []
    for job in cronjobs():
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        out += [c["args"] for c in pod.get("initContainers", []) + pod["containers"] if c.get("args")]
    for deployment in deployments():
        pod = deployment["spec"]["template"]["spec"]
        out += [c["args"] for c in pod.get("initContainers", []) + pod["containers"] if c.get("args")]
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for match in re.findall(r"^Exec\w+=/opt/sharescan/bin/sharescan (.+)$", unit.read_text(), flags=re.M):
            out.append(match.split())
    for path in sorted(DEPLOY.glob("compose*.yaml")):
        compose = yaml.safe_load(path.read_text(encoding="utf-8"))
        out += [s["command"] for s in compose["services"].values() if s.get("image", "").startswith("sharescan")]
    return out


def test_celery_compose_has_scheduler_workers_broker_and_postgres() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.celery.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "redis", "db-upgrade", "scheduler", "worker"} <= set(services)
    assert services["worker"]["command"][0] == "worker" and services["worker"]["deploy"]["replicas"] >= 2
    assert services["scheduler"]["command"] == ["schedule", "run"]
    for name in ("scheduler", "worker"):  # both need the schema at head and the broker up
        needs = services[name]["depends_on"]
        assert needs["db-upgrade"] == {"condition": "service_completed_successfully"}
        assert needs["redis"] == {"condition": "service_healthy"}
        assert services[name]["environment"]["SHARESCAN_DATABASE_URL"].startswith("postgresql://")
        assert services[name]["read_only"] is True
    # the config the header tells an operator to write is valid for this tree
    header = [line.removeprefix("#").strip() for line in
              (DEPLOY / "compose.celery.yaml").read_text(encoding="utf-8").splitlines()[:12]]
    start = header.index("[executor]")
    snippet = "\n".join(line.split("#")[0] for line in header[start:start + 4])
    import tomllib

    from scanner.config import Settings

    executor = Settings.model_validate(tomllib.loads(snippet)).executor
    assert executor.kind == "celery" and executor.broker_url.startswith("redis://")


@pytest.mark.parametrize("args", command_lines(), ids=lambda a: " ".join(a))
def test_every_command_line_parses(args: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "scanner.cli.main", *args, "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path: Path) -> None:
    for unit in (DEPLOY / "systemd").iterdir():
        # verify wants the binary to exist: point ExecStart at one that does
        text = unit.read_text(encoding="utf-8").replace("/opt/sharescan/bin/sharescan", "/bin/true")
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    units = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
