"""Shared fixtures (one local Spark session with Delta for the whole test run) and the markers
every test gets from the fixtures it uses, so that no test can be marked by hand, or wrongly:

- ``spark``: needs a JVM (the ``spark`` session, or ``jvm`` for a child process that starts one);
- ``pipeline``: uses a fixture that runs the whole pipeline;
- ``system``: needs something beyond this process and Spark (a browser, Azurite, a Spark
  cluster or Spark Connect server, the real dataset);
- ``nojvm``: none of these (``make test-fast``). A ``nojvm`` test that starts Spark fails: its
  ``SPARK_HOME`` points at a spark-submit that refuses to start and says why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "c2c-fashion-store"

# The fixtures each derived marker stands for. Every name must be a fixture that exists (the
# collection fails otherwise), so renaming one cannot quietly unmark its tests.
SPARK_FIXTURES = frozenset({"spark", "jvm"})
PIPELINE_FIXTURES = frozenset(
    {
        "sample_gold",
        "full_run",
        "corpus_run",
        "sample_lake",
        "clean",
        "clean_base",
        "made_run",
        "duck_real",
        "duck_corpus",
    }
)
SYSTEM_FIXTURES = frozenset({"browser_run", "emulator", "delta_jars", "connect_url", "real_data"})
DERIVED = {"spark": SPARK_FIXTURES, "pipeline": PIPELINE_FIXTURES, "system": SYSTEM_FIXTURES}
NO_JVM = "nojvm"
# The hand-written marker the derived ones replace: still registered, so that using it says why.
RETIRED = "integration"
FIXTURE_DEF = re.compile(r"^@pytest\.fixture\b.*\n(?:@.*\n)*def (\w+)\(", re.M)

REFUSE_SPARK_SUBMIT = """#!/bin/sh
echo "this test is marked nojvm (it uses none of the spark, jvm or pipeline fixtures) but \\
started Spark: give it the spark fixture, or jvm for a child process" >&2
exit 1
"""


def derived_markers(fixturenames: Iterable[str]) -> list[str]:
    """The markers of a test that uses these fixtures (directly or through other fixtures: the
    pipeline fixtures use ``spark``, so their tests are ``spark`` tests too)."""
    used = set(fixturenames)
    return [marker for marker, names in DERIVED.items() if used & names] or [NO_JVM]


def defined_fixtures() -> set[str]:
    """The names of the fixtures defined in the tests' sources."""
    found: set[str] = set()
    for path in Path(__file__).parent.rglob("*.py"):
        found.update(FIXTURE_DEF.findall(path.read_text()))
    return found


def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    missing = sorted(set().union(*DERIVED.values()) - defined_fixtures())
    if missing:
        raise pytest.UsageError(
            f"tests/conftest.py derives markers from missing fixtures: {missing}"
        )
    for item in items:
        hand_marked = {m.name for m in item.iter_markers()} & {*DERIVED, NO_JVM, RETIRED}
        if hand_marked:
            raise pytest.UsageError(
                f"{item.nodeid} is marked {sorted(hand_marked)} by hand: these markers come "
                "from the fixtures a test uses (tests/conftest.py)"
            )
        for marker in derived_markers(getattr(item, "fixturenames", ())):
            item.add_marker(marker)


@pytest.fixture(scope="session")
def refusing_spark_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("no-spark-home")
    submit = home / "bin" / "spark-submit"
    submit.parent.mkdir()
    submit.write_text(REFUSE_SPARK_SUBMIT)
    submit.chmod(0o755)
    return home


@pytest.fixture(autouse=True)
def _nojvm_tests_cannot_start_spark(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker(NO_JVM):
        home = request.getfixturevalue("refusing_spark_home")
        request.getfixturevalue("monkeypatch").setenv("SPARK_HOME", str(home))


@pytest.fixture(scope="session")
def jvm() -> dict[str, str]:
    """For a test whose child process starts Spark itself: the environment to give it (this
    one). Using it marks the test ``spark``, as the ``spark`` fixture does."""
    return dict(os.environ)


@pytest.fixture(scope="session")
def spark() -> Iterator:
    from c2c_etl.spark import local_spark

    session = local_spark("c2c-etl-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def etl_wheel(tmp_path_factory) -> Path:
    """The c2c-etl wheel as `make wheel` builds it, once per test session."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        pytest.fail("uv is needed to build the wheel (make test installs it in .tools/)")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [uv, "build", "--wheel", "--package", "c2c-etl", "--out-dir", str(out)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("c2c_etl-*.whl")
    return built


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not (REAL_DATA / "6M-0K-99K.users.dataset.public.csv").exists():
        pytest.skip(f"the real dataset is not at {REAL_DATA} (see README: 'The dataset')")
    return REAL_DATA


@pytest.fixture(scope="session")
def sample_gold(spark, tmp_path_factory) -> Iterator:
    """The generator's sample through bronze, silver and gold once per test session: the run's
    context. Tests that query the BI views create them first (``io.create_views``): they are
    session views, and other tests' runs may point them at another lake."""
    from c2c_etl.config import local_config
    from c2c_etl.generator import generate
    from c2c_etl.jobs.common import RunContext, new_run_id
    from tests.etl.helpers import run_pipeline

    root = tmp_path_factory.mktemp("sample-gold")
    generate(root / "landing", 3000, 800, seed=7)
    ctx = RunContext(local_config(root / "landing", root / "lake"), new_run_id())
    run_pipeline(spark, ctx)
    yield ctx


@pytest.fixture(scope="session")
def full_run(spark, real_data, tmp_path_factory):
    """Every real file (both users files and the publisher's reports) through the whole pipeline
    once per test session: (context, step results). A test that changes its landing folder or
    lake changes a copy (``tests.etl.helpers.copy_lake``)."""
    from tests.etl.integration.conftest import (
        REPORT_FILES,
        USERS_2020_FILE,
        USERS_2024_FILE,
        land,
        run_pipeline,
    )

    root = tmp_path_factory.mktemp("full")
    land(real_data, root / "landing", USERS_2020_FILE, USERS_2024_FILE, *REPORT_FILES)
    return run_pipeline(spark, root / "landing", root / "lake")


@pytest.fixture(scope="session")
def corpus_run(spark, tmp_path_factory):
    """The bad-input corpus (tests/etl/corpus) through bronze and silver once per test session
    (``tests.etl.corpus.run.CorpusRun``). A test that changes its landing folder or lake changes
    a copy (``tests.etl.helpers.copy_lake``)."""
    from tests.etl.corpus.run import run_corpus

    return run_corpus(spark, tmp_path_factory.mktemp("corpus"))


# Seconds each test file took (set-up, call and tear-down of its tests), for the summary.
_FILE_SECONDS: dict[str, float] = {}
SLOWEST_FILES = 12


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::", 1)[0]
    _FILE_SECONDS[path] = _FILE_SECONDS.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter) -> None:
    """The slowest test files: where the suite's time goes, printed at the end of every run."""
    if not _FILE_SECONDS:
        return
    terminalreporter.section("slowest test files (seconds)")
    ranked = sorted(_FILE_SECONDS.items(), key=lambda item: -item[1])
    for path, seconds in ranked[:SLOWEST_FILES]:
        terminalreporter.write_line(f"{seconds:8.1f}  {path}")
