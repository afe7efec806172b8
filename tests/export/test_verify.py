"""Signed manifests: tampering of any kind is detected; CLI exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.export.service import export
from scanner.export.signing import private_key, verify_export
from scanner.store.models import AuditEvent
from tests.export.factory import NOW, Story


@pytest.fixture
def exported(sessions: sessionmaker[Session], story: Story, settings: Settings, tmp_path: Path) -> Path:
    export(sessions, settings, ["csv", "jsonl", "ocsf", "html"], tmp_path / "out", now=NOW)
    return tmp_path / "out"


def _trusted(settings: Settings):  # type: ignore[no-untyped-def]
    return private_key(settings.signing_key_path, create=False).public_key()


def test_intact_export_verifies(exported: Path, settings: Settings) -> None:
    report = verify_export(exported, _trusted(settings))
    assert report.ok and report.signature_ok and report.trusted_key and report.files_checked == 28  # 8 compliance summaries, coverage.jsonl, compliance.ocsf.jsonl, allowed_signers
    assert report.sums_ok and report.ssh_signature_ok


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (lambda d: (d / "csv/findings.csv").write_text("finding_id\n"), "csv/findings.csv: modified"),
        (lambda d: (d / "report.html").unlink(), "report.html: missing"),
        (lambda d: (d / "csv/extra.csv").write_text("x"), "csv/extra.csv: added"),
        (lambda d: (d / "ocsf/findings.ocsf.jsonl").open("a").write("{}\n"), "ocsf/findings.ocsf.jsonl: modified"),
    ],
)
def test_file_tampering_is_detected(exported: Path, settings: Settings, tamper, problem: str) -> None:  # type: ignore[no-untyped-def]
    tamper(exported)
    report = verify_export(exported, _trusted(settings))
    assert not report.ok and report.signature_ok
    assert any(p.startswith(problem) for p in report.problems), report.problems


def test_edited_manifest_breaks_signature(exported: Path, settings: Settings) -> None:
    manifest = json.loads((exported / "manifest.json").read_text())
    manifest["counts"]["findings"] = 0
    (exported / "manifest.json").write_text(json.dumps(manifest))
    report = verify_export(exported, _trusted(settings))
    assert not report.ok and not report.signature_ok
    assert any("bad signature" in p for p in report.problems)


def test_resigned_with_another_key_is_not_trusted(exported: Path, settings: Settings) -> None:
    """An attacker who rewrites files and re-signs with their own key (embedding their public key)."""
    from scanner.export.signing import file_entries, sign_manifest, write_manifest

    (exported / "csv/findings.csv").write_text("finding_id\n")
    manifest = json.loads((exported / "manifest.json").read_text())
    del manifest["signature"]
    manifest["files"] = file_entries(exported, [f["path"] for f in manifest["files"]])
    write_manifest(exported, sign_manifest(manifest, Ed25519PrivateKey.generate()))
    report = verify_export(exported, _trusted(settings))
    assert report.signature_ok and not report.trusted_key and not report.ok
    assert any("not by the trusted key" in p for p in report.problems)


def test_missing_or_garbage_manifest(exported: Path, settings: Settings) -> None:
    (exported / "manifest.json").write_text("{not json")
    assert "unreadable or malformed" in verify_export(exported, _trusted(settings)).problems[0]
    (exported / "manifest.json").unlink()
    assert verify_export(exported, _trusted(settings)).problems == ["manifest.json: missing"]


def _cli(args: list[str], env_settings: Settings, url: str) -> subprocess.CompletedProcess[str]:
    import os

    config = Path(env_settings.signing_key_path).parent.parent / "cli.toml"
    config.write_text(f'[export]\nsigning_key_file = "{env_settings.signing_key_path}"\n')
    env = dict(os.environ, SHARESCAN_DATABASE_URL=url, SHARESCAN_CONFIG=str(config))
    return subprocess.run([sys.executable, "-c", "from scanner.cli.main import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_export_and_verify(sessions: sessionmaker[Session], story: Story, settings: Settings,
                               migrated_url: str, tmp_path: Path) -> None:
    out = tmp_path / "cli-out"
    proc = _cli(["export", "--format", "csv", "--format", "html", "--status", "open", "--framework", "gdpr",
                 "--output", str(out)], settings, migrated_url)
    assert proc.returncode == 0, proc.stderr
    assert "findings: 1" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == ["SHA256SUMS", "SHA256SUMS.sig", "allowed_signers",
                                                     "compliance", "csv", "manifest.json", "report.html"]
    assert sorted(p.name for p in (out / "compliance").iterdir()) == ["gdpr.csv", "gdpr.json"]
    # the open payroll finding evidences Art. 32, 33 and 34 (its rule maps them): all three fail
    assert "controls (gdpr): 3 failing, 0 warning, 0 passing, 0 without findings -> compliance/gdpr.csv" in proc.stdout
    command = proc.stdout.splitlines()[-1].strip()
    assert command.startswith(f"cd {out} && sha256sum -c SHA256SUMS && ssh-keygen -Y verify -n sharescan-export -f ")
    if shutil.which("ssh-keygen") and shutil.which("sha256sum"):
        checked = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stderr
    ok = _cli(["export", "verify", str(out), "--format", "json"], settings, migrated_url)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    pub = Path(str(settings.signing_key_path) + ".pub")
    (out / "report.html").write_text("<p>edited</p>")
    bad = _cli(["export", "verify", str(out), "--public-key", str(pub)], settings, migrated_url)
    assert bad.returncode == 8
    assert "report.html: modified" in bad.stderr
    other = _cli(["export", "verify", str(out), "--public-key", "00" * 32], settings, migrated_url)
    assert other.returncode != 0
    audit = _cli(["audit", "list", "--type", "export.created", "--format", "json"], settings, migrated_url)
    assert [e["type"] for e in json.loads(audit.stdout)] == ["export.created"]
    # the export anchored the log (its export.created event included): cutting that event is detected,
    # against the checkpoint and against the manifest given on the command line
    (out / "report.html").unlink()
    intact = _cli(["audit", "verify", "--format", "json", "--manifest", str(out)], settings, migrated_url)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    verdict = json.loads(intact.stdout)
    assert verdict["ok"] and verdict["anchors_checked"] == 2 and verdict["anchor"].startswith("checkpoint ")
    with sessions.begin() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.event_type == "export.created"))
    cut = _cli(["audit", "verify", "--format", "json"], settings, migrated_url)
    assert cut.returncode == 7
    assert "truncated: the log ends at seq 12 but the anchor recorded seq 13 (1 event removed from the end)" in cut.stderr


def test_cli_default_directory(sessions: sessionmaker[Session], settings: Settings, migrated_url: str,
                               tmp_path: Path) -> None:
    proc = _cli(["export", "--format", "jsonl"], settings, migrated_url)
    assert proc.returncode == 0, proc.stderr
    made = [p for p in Path.cwd().iterdir() if p.name.startswith("sharescan-export-")]
    assert len(made) == 1 and (made[0] / "manifest.json").exists()


# --------------------------------------------------------------------------- standard tools
def _tool(name: str) -> str:
    import shutil

    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (apt-get install {'openssh-client' if name == 'ssh-keygen' else 'coreutils'})")
    return path


def test_sha256sums_and_sshsig_verify_with_standard_tools(sessions: sessionmaker[Session], story: Story,
                                                          settings: Settings, tmp_path: Path) -> None:
    """The command export prints is run as printed: sha256sum -c and ssh-keygen -Y verify (OpenSSH's SSHSIG),
    with the installation's allowed_signers file."""
    _tool("sha256sum")
    _tool("ssh-keygen")
    result = export(sessions, settings, ["csv", "html"], tmp_path / "out", now=NOW)
    out = tmp_path / "out"
    sums = (out / "SHA256SUMS").read_text().splitlines()
    assert sorted(line.split("  ", 1)[1] for line in sums) == sorted([*result.files, "manifest.json"])
    assert "allowed_signers" in result.files
    proc = subprocess.run(["bash", "-c", result.verify_command], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    said = proc.stdout + proc.stderr
    assert "csv/findings.csv: OK" in said and "manifest.json: OK" in said
    assert 'Good "sharescan-export" signature for sharescan with ED25519 key SHA256:' in said
    # the key file ssh-keygen was given is the installation's, and its fingerprint is the one we print
    from scanner.export.signing import ssh_fingerprint

    fingerprint = ssh_fingerprint(_trusted(settings))
    assert fingerprint in said
    listed = subprocess.run(["ssh-keygen", "-l", "-f", str(settings.signing_key_path) + ".ssh.pub"],
                            capture_output=True, text=True, timeout=30)
    assert fingerprint in listed.stdout
    verified = verify_export(out, _trusted(settings))
    assert verified.ok and verified.sums_ok and verified.ssh_signature_ok


@pytest.mark.parametrize("tamper", ["file", "sums", "signature", "other-key"])
def test_standard_tools_refuse_a_tampered_export(sessions: sessionmaker[Session], story: Story, settings: Settings,
                                                 tmp_path: Path, tamper: str) -> None:
    _tool("sha256sum")
    _tool("ssh-keygen")
    result = export(sessions, settings, ["csv"], tmp_path / "out", now=NOW)
    out = tmp_path / "out"
    if tamper == "file":
        (out / "csv/findings.csv").write_text("finding_id\n")
    elif tamper == "sums":  # a consistent SHA256SUMS for an edited file: the signature no longer fits
        (out / "csv/findings.csv").write_text("finding_id\n")
        text = (out / "SHA256SUMS").read_text().splitlines()
        fixed = [line if not line.endswith("csv/findings.csv") else
                 subprocess.run(["sha256sum", "csv/findings.csv"], cwd=out, capture_output=True, text=True).stdout.strip()
                 for line in text]
        (out / "SHA256SUMS").write_text("\n".join(fixed) + "\n")
    elif tamper == "signature":
        sig = (out / "SHA256SUMS.sig").read_text().splitlines()
        sig[3] = sig[3][:-4] + ("AAAA" if not sig[3].endswith("AAAA") else "BBBB")
        (out / "SHA256SUMS.sig").write_text("\n".join(sig) + "\n")
    else:  # re-signed with another key: the installation's allowed_signers does not name it
        from scanner.export.signing import sshsig_sign

        (out / "SHA256SUMS.sig").write_text(sshsig_sign(Ed25519PrivateKey.generate(), (out / "SHA256SUMS").read_bytes()))
    proc = subprocess.run(["bash", "-c", result.verify_command], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    report = verify_export(out, _trusted(settings))
    assert not report.ok
