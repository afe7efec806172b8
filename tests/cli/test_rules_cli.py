"""`sharescan rules test` fails when a sample is missing or a --rule does not exist (it used to exit 0)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RULE = """id: {id}
title: A rule with a sample
severity: low
when:
  exposure: [public]
tests:
  match: [{sample}]
"""


def rules(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner.cli.main", "rules", "test", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, stdin=subprocess.DEVNULL)


def test_missing_samples_and_unknown_rules_fail(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    (folder / "samples").mkdir(parents=True)
    (folder / "samples" / "contacts.txt").write_text("Write to ada@example.org\n", encoding="utf-8")
    (folder / "present.yaml").write_text(RULE.format(id="present", sample="samples/contacts.txt"), encoding="utf-8")
    config = tmp_path / "sharescan.toml"
    config.write_text(f'[rules]\ninclude_builtin = false\ndirectories = ["{folder}"]\n'
                      f'[detect]\nnlp = "pattern-only"\nkey_file = "{tmp_path / "evidence.key"}"\n', encoding="utf-8")
    ok = rules("--rule", "present", "--format", "csv", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[1].startswith("present,samples/contacts.txt,match,PASS")

    (folder / "absent.yaml").write_text(RULE.format(id="absent", sample="samples/gone.txt"), encoding="utf-8")
    missing = rules("--format", "csv", cwd=tmp_path)
    assert missing.returncode == 2
    assert "absent,samples/gone.txt,match,MISSING" in missing.stdout
    assert "error: 1 sample(s) missing (paths are relative to the rule file), e.g. absent: samples/gone.txt" \
        in missing.stderr

    unknown = rules("--rule", "does-not-exist", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "unknown rule(s): does-not-exist" in unknown.stderr


LABEL_RULE = """id: labelled
title: A rule on a Drive label
severity: low
when:
  exposure: [public]
  labels: [ABC123]
actions:
  - label
"""


def test_rules_validate_refuses_labels_until_a_classification_label_is_configured(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "labelled.yaml").write_text(LABEL_RULE, encoding="utf-8")
    config = tmp_path / "sharescan.toml"
    base = f'[rules]\ninclude_builtin = false\ndirectories = ["{folder}"]\n'
    config.write_text(base, encoding="utf-8")

    def validate() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "scanner.cli.main", "rules", "validate"], capture_output=True,
                              text=True, timeout=300, cwd=tmp_path, stdin=subprocess.DEVNULL)

    refused = validate()
    assert refused.returncode == 2
    assert f"{folder / 'labelled.yaml'}:6: when.labels: names Drive labels" in refused.stderr
    assert f"{folder / 'labelled.yaml'}:8: actions[0]: the label action needs a label" in refused.stderr
    config.write_text(base + '[labels]\nclassification_label = "ABC123"\n', encoding="utf-8")
    accepted = validate()
    assert accepted.returncode == 0, accepted.stderr
