"""`sharescan classify`: settings and key from the App, table/JSON output, skips, no raw values."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scanner.cli.main import cli
from scanner.config import load_settings
from scanner.keys import load_key

SAMPLE = (
    "Vendor contacts\n\n"
    "Please call Olivia Martin on mobile +1 415 982 3344 or mail olivia.martin@gmail.com.\n"
    "SSN: 536-22-8411\n"
)
RAW = ("olivia.martin@gmail.com", "536-22-8411", "415 982 3344", "Olivia Martin")


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    config = tmp_path / "sharescan.toml"
    config.write_text('[detect]\nnlp = "pattern-only"\nkey_file = "%s"\n' % (tmp_path / "keys" / "evidence.key"))
    monkeypatch.chdir(tmp_path)
    return {"SHARESCAN_CONFIG": str(config), "SHARESCAN_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "250"}


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, ["classify", *args], env=env, catch_exceptions=False)


@pytest.fixture()
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.txt"
    path.write_text(SAMPLE, encoding="utf-8")
    return path


def test_json_output_uses_settings_and_app_key(env: dict[str, str], sample: Path, tmp_path: Path) -> None:
    result = invoke(env, str(sample), "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["path"] for r in rows] == [str(sample)]
    row = rows[0]
    assert row["analysed"] is True and row["nlp_mode"] == "pattern-only"  # from [detect] nlp
    fired = {d["detector"] for d in row["detectors"]}
    assert {"government_id", "contractor_pii"} <= fired
    previews = {e["entity"]: e["preview"] for d in row["detectors"] for e in d["evidence"]}
    assert previews["US_SSN"] == "•••-••-8411"
    assert previews["EMAIL_ADDRESS"] == "o•••@g•••.com"
    # the evidence key is the App's (settings.evidence_key_path), created 0600 on first use
    key_path = load_settings(env["SHARESCAN_CONFIG"], env=env).evidence_key_path
    assert key_path == tmp_path / "keys" / "evidence.key"
    assert len(load_key(key_path)) == 32 and oct(os.stat(key_path).st_mode & 0o777) == "0o600"
    for raw in RAW:
        assert raw not in result.output


def test_hashes_stable_across_runs(env: dict[str, str], sample: Path) -> None:
    first = json.loads(invoke(env, str(sample), "--format", "json").output)
    second = json.loads(invoke(env, str(sample), "--format", "json").output)
    assert first == second


def test_table_output_has_no_raw_values(env: dict[str, str], sample: Path) -> None:
    result = invoke(env, str(sample))
    assert result.exit_code == 0, result.output
    assert "government_id" in result.output and "pattern-only" in result.output
    assert "8411" in result.output
    for raw in RAW:
        assert raw not in result.output


def test_nlp_option_overrides_settings(env: dict[str, str], sample: Path) -> None:
    rows = json.loads(invoke(env, str(sample), "--format", "json", "--nlp", "pattern-only").output)
    assert rows[0]["nlp_mode"] == "pattern-only"


def test_extra_dictionary(env: dict[str, str], tmp_path: Path) -> None:
    doc = tmp_path / "plan.md"
    doc.write_text("Kickoff for project NIGHTJAR next week.\n", encoding="utf-8")
    before = json.loads(invoke(env, str(doc), "--format", "json").output)[0]
    assert before["detectors"] == []
    terms = tmp_path / "extra.txt"
    terms.write_text("# ours\nNIGHTJAR\n", encoding="utf-8")
    after = json.loads(invoke(env, str(doc), "--format", "json", "--dictionary", str(terms)).output)[0]
    assert [d["detector"] for d in after["detectors"]] == ["client_codename"]


def test_missing_and_unreadable_files_are_recorded_and_exit_non_zero(env: dict[str, str], sample: Path,
                                                                     tmp_path: Path) -> None:
    missing = tmp_path / "nope.docx"
    unreadable = sample / "child.txt"  # a path under a regular file: NotADirectoryError, even as root
    result = CliRunner().invoke(cli, ["classify", str(missing), str(unreadable), str(sample), "--format", "json"],
                                env=env, catch_exceptions=False)
    assert result.exit_code == 6, result.output  # ExitCode.NOT_FOUND wins over an unreadable file
    rows = {r["path"]: r for r in json.loads(result.stdout)}
    assert rows[str(missing)]["analysed"] is False
    assert rows[str(missing)]["reason"] == "not analysed: file not found"
    assert rows[str(unreadable)]["reason"] == "not analysed: unreadable (NotADirectoryError)"
    assert rows[str(sample)]["analysed"] is True
    assert result.stderr.strip() == "error: 1 not found, 1 unreadable of 3 files"
    table = CliRunner().invoke(cli, ["classify", str(missing)], env=env, catch_exceptions=False)
    assert table.exit_code == 6 and "not analysed: file not found" in table.stdout


@pytest.mark.parametrize("kind,code", [("missing", 6), ("unreadable", 1), ("ok", 0)])
def test_exit_code_per_kind_of_path(env: dict[str, str], sample: Path, tmp_path: Path, kind: str, code: int) -> None:
    path = {"missing": tmp_path / "gone.txt", "unreadable": sample / "x.txt", "ok": sample}[kind]
    assert invoke(env, str(path), "--format", "json").exit_code == code


def test_csv_has_the_json_fields(env: dict[str, str], sample: Path) -> None:
    import csv
    import io

    as_json = json.loads(invoke(env, str(sample), "--format", "json").output)
    result = invoke(env, str(sample), "--format", "csv")
    assert result.exit_code == 0, result.output
    [row] = list(csv.DictReader(io.StringIO(result.output)))
    assert list(row) == list(as_json[0])
    assert row["path"] == str(sample) and row["analysed"] == "True" and row["partial"] == ""
    assert json.loads(row["detectors"]) == as_json[0]["detectors"]
    for raw in RAW:
        assert raw not in result.output


@pytest.mark.parametrize("args", [
    (),  # no path
    ("x.txt", "--nlp", "bogus"),
    ("x.txt", "--dictionary", "/nonexistent/terms.txt"),
])
def test_usage_errors_exit_2(env: dict[str, str], args: tuple[str, ...]) -> None:
    assert invoke(env, *args).exit_code == 2


def test_malformed_rules_dir_is_a_config_error(env: dict[str, str], sample: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from scanner.cli.main import main
    from scanner.detect.pipeline import default_rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir() / "presidio", rules / "presidio")
    (rules / "detectors").mkdir()
    detectors = rules / "detectors" / "detectors.yaml"
    detectors.write_text("detectors: [unclosed\n", encoding="utf-8")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(["classify", "--rules-dir", str(rules), str(sample)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot build the detector: while parsing a flow sequence")
    assert f'in "{detectors}", line 1' in err
