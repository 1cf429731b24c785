"""No generated artifact holds a credential or a secret-like value.

Every artifact the project generates is built here as the README's commands build it: the
Terraform JSON of every environment (offline synthesis), the Data Factory git layout and ARM
template with its parameters (``c2c_adf.build``), and a local run of ``PL_Orchestrate`` on a
small generator sample (``c2c_adf.local``, what ``make run`` does) with its log, its printed
summary, the HTML dashboard and the Delta commit logs of every table. They are scanned with
detect-secrets' plugins and the project rules of ``tests.security.scanning``; Key Vault
references (a vault and a secret name, never a value) are what secrets should look like.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
from pathlib import Path

import pytest

from tests.security.scanning import PROJECT_RULES, Finding, scan_files

ENVS = ("dev", "test", "prod")


@pytest.fixture(scope="module")
def artifacts(spark: object, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every generated artifact under one folder (the Spark fixture makes the run reuse the
    test session instead of starting its own)."""
    from c2c_adf import build, local
    from c2c_etl.generator import generate
    from c2c_infra.main import build_app

    root = tmp_path_factory.mktemp("artifacts")
    build_app(ENVS, outdir=str(root / "cdktf.out"), offline=True).synth()
    build.main(["--out", str(root / "adf")])

    source = tmp_path_factory.mktemp("source") / "export"
    generate(source, 600, 150, seed=11)
    log_handler = logging.FileHandler(root / "run.log", encoding="utf-8")
    log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root_logger = logging.getLogger()
    level = root_logger.level
    root_logger.addHandler(log_handler)
    root_logger.setLevel(logging.INFO)
    summary = io.StringIO()
    try:
        with contextlib.redirect_stdout(summary):
            code = local.main(["--input", str(source), "--lake", str(root / "lake")])
    finally:
        root_logger.removeHandler(log_handler)
        root_logger.setLevel(level)
        log_handler.close()
    (root / "run-summary.txt").write_text(summary.getvalue(), encoding="utf-8")
    assert code == 0, summary.getvalue()
    return root


def artifact_files(root: Path) -> list[Path]:
    """The text artifacts: everything but the tables' Parquet data files and checksums."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix not in (".parquet", ".crc") and "_delta_log" not in p.parts
    ) + sorted(root.rglob("_delta_log/*.json"))


def test_every_kind_of_artifact_was_generated(artifacts: Path) -> None:
    files = [str(p.relative_to(artifacts)) for p in artifact_files(artifacts)]
    for env in ENVS:
        for stack in ("platform", "workspace"):
            assert f"cdktf.out/stacks/c2c-{env}-{stack}/cdk.tf.json" in files
        assert f"adf/{env}/ARMTemplateForFactory.json" in files
        assert f"adf/{env}/ARMTemplateParametersForFactory.json" in files
        assert any(f.startswith(f"adf/{env}/pipeline/") for f in files)
    assert "lake/reports/dashboard.html" in files
    assert any(f.startswith("lake/silver/users/_delta_log/") for f in files)
    assert "INFO" in (artifacts / "run.log").read_text()
    assert (artifacts / "run-summary.txt").stat().st_size > 0


def plotly_js() -> str:
    """The plotly.js bundle the dashboard inlines, from the installed plotly package."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def run_digests(artifacts: Path) -> str:
    """The SHA-256 digests a run writes by design, computed here from what it was given: the
    content hash of each input file (its copies in landing) and the code's digest. The lake's
    state file lists them (c2c_etl.lake_state); hex strings that long look like secrets."""
    from c2c_etl.bronze.ingest import sha256_of
    from c2c_etl.lake_state import code_digest

    landing = artifacts / "lake" / "landing"
    inputs = [sha256_of(p) for p in sorted(landing.rglob("*")) if p.is_file()]
    return "\n".join([*inputs, code_digest()])


def test_the_lake_state_file_holds_only_the_inputs_and_the_codes_digests(artifacts: Path) -> None:
    import json

    from c2c_etl.lake_state import STATE_FILE

    state = json.loads((artifacts / "lake" / STATE_FILE).read_text())
    digests = set(run_digests(artifacts).splitlines())
    assert set(state["known_sha256"]) <= digests and state["code"] in digests
    assert set(state) == {"run_id", "recorded_at", "code", "tables", "known_sha256"}


def test_no_artifact_holds_a_secret(artifacts: Path) -> None:
    files = artifact_files(artifacts)
    library = plotly_js()
    # The dashboard inlines plotly.js verbatim: the scan reads the dashboard without that copy
    # (a secret beside it is still found: the test below).
    assert library in (artifacts / "lake" / "reports" / "dashboard.html").read_text()
    found = scan_files(files, artifacts, public=run_digests(artifacts), embedded=[library])
    assert [str(f) for f in found] == []


def test_a_secret_beside_the_inlined_library_is_caught_on_its_line(
    artifacts: Path, tmp_path: Path
) -> None:
    """Leaving the inlined plotly.js out of the scan keeps every other line of the dashboard
    scanned, each on its own line number."""
    library = plotly_js()
    text = (artifacts / "lake" / "reports" / "dashboard.html").read_text()
    lines = text.splitlines()
    after = text[: text.index(library) + len(library)].count("\n") + 1  # the library's next line
    lines.insert(after, PLANTED["Databricks token"])
    lines.insert(0, PLANTED["private key"])
    copy = tmp_path / "dashboard.html"
    copy.write_text("\n".join(lines) + "\n")
    found = scan_files([copy], tmp_path, embedded=[library])
    assert Finding(copy.name, 1, "private key") in found
    assert Finding(copy.name, after + 2, "Databricks token") in found
    assert {f.line for f in found} == {1, after + 2}


def test_secrets_are_key_vault_references(artifacts: Path) -> None:
    """The factory reaches its secrets through the Key Vault linked service, by name."""
    text = "\n".join(p.read_text() for p in (artifacts / "adf").rglob("*.json"))
    assert "AzureKeyVault" in text


# One planted secret per project rule (assembled at run time: no literal here looks real).
PLANTED = {
    "storage account key": "DefaultEndpointsProtocol=https;AccountName=x;AccountKey="
    + "q" * 30
    + "==",
    "SAS token": "https://x.blob.core.windows.net/c/f?sv=2024-11-04&se=2030&sig=" + "Ab3" * 10,
    "client secret": '"client_secret": "' + "s3cr3t-" + "v4lue" + '"',
    "Databricks token": "dapi" + "0123456789abcdef" * 2,
    "JWT": "eyJ" + "hbGciOiJIUzI1" + ".eyJ" + "zdWIiOiIxMjM0" + ".c2lnbmF0dXJl",
    "private key": "-----BEGIN RSA " + "PRIVATE KEY-----",
    "password value": '"password": "' + "Tr0ub4dor" + '"',
}


def test_every_project_rule_has_a_planted_secret() -> None:
    assert set(PLANTED) == set(PROJECT_RULES)


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_a_planted_secret_in_an_artifact_copy_is_caught(
    kind: str, artifacts: Path, tmp_path: Path
) -> None:
    """A copy of a real artifact with one secret added fails the scan, at the right line."""
    original = artifacts / "adf" / "dev" / "ARMTemplateParametersForFactory.json"
    copy = tmp_path / "ARMTemplateParametersForFactory.json"
    shutil.copyfile(original, copy)
    lines = copy.read_text().splitlines()
    lines.insert(3, f"  {PLANTED[kind]}")
    copy.write_text("\n".join(lines) + "\n")
    assert scan_files([original], artifacts / "adf" / "dev") == []
    found = scan_files([copy], tmp_path)
    assert Finding(copy.name, 4, kind) in found
    assert all(PLANTED[kind] not in str(f) for f in found)
