"""The benchmark's DuckDB baseline computes what the Spark pipeline computes: same silver users,
same gold tables, same columns and types, same rows, on the generator's sample (with a few dirty
rows) and on the real dataset. Without this, the benchmark's ratio would compare two
different computations.

The bad-input corpus of tests/etl/corpus goes through both as well: malformed lines, repeated
headers, Latin-1, byte order marks, NUL bytes, overflows, duplicates across files, all give the
same silver and gold, but for the one documented difference (a quoted line break).

The building blocks are pinned too: the rules are silver's own (names, policies, order), text is
typed as Spark's ``try_cast`` types it, and percentages round as Spark rounds them, not as
DuckDB's ``round`` would. Silver is compared on every column but the record hash, which DuckDB
cannot compute as Spark does (see scripts/bench_duckdb.py).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pyspark.sql import functions as F

from c2c_etl import io, tables
from c2c_etl.config import local_config
from c2c_etl.jobs.common import RunContext, new_run_id
from c2c_etl.runner import RunRequest, run
from c2c_etl.silver.quality import FLAG_RULES_COL
from c2c_etl.silver.users import BUSINESS_COLUMNS, user_rules
from c2c_etl.sources import USERS_KINDS
from tests.etl.corpus.build import FILES as CORPUS_FILES
from tests.etl.helpers import copy_lake


def _load_bench_duckdb():
    """scripts/bench_duckdb.py, a benchmark script beside bench.py, not part of any package."""
    path = Path(__file__).resolve().parents[2] / "scripts" / "bench_duckdb.py"
    spec = importlib.util.spec_from_file_location("bench_duckdb", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_duckdb"] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


bench_duckdb = _load_bench_duckdb()
GOLD_TABLES, SILVER_USERS = bench_duckdb.GOLD_TABLES, bench_duckdb.SILVER_USERS
build_gold, compute, gold_with_duckdb, rules_for = (
    bench_duckdb.build_gold,
    bench_duckdb.compute,
    bench_duckdb.gold_with_duckdb,
    bench_duckdb.rules_for,
)
SILVER_COMPARED = (*BUSINESS_COLUMNS, FLAG_RULES_COL, "source_file")
# DuckDB type names as Spark names them.
SPARK_TYPE = {
    "BIGINT": "bigint",
    "INTEGER": "int",
    "DOUBLE": "double",
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
    "VARCHAR[]": "array<string>",
}


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _counted(rows: list[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(_hashable(v) for v in row) for row in rows)


def spark_table(spark, ctx, table: tables.Table) -> tuple[dict[str, str], Counter]:
    """(column -> Spark type, rows) of a lake table."""
    df = io.read(spark, ctx.cfg, table)
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    return types, _counted([tuple(r) for r in df.collect()])


def duck_table(con: duckdb.DuckDBPyConnection, name: str) -> tuple[dict[str, str], Counter]:
    relation = con.table(name)
    types = {
        c: SPARK_TYPE.get(str(t), str(t))
        for c, t in zip(relation.columns, relation.types, strict=True)
    }
    return types, _counted(relation.fetchall())


def assert_same_rows(name: str, spark_rows: Counter, duck_rows: Counter) -> None:
    only_spark, only_duck = spark_rows - duck_rows, duck_rows - spark_rows
    assert not only_spark and not only_duck, (
        f"{name}: {sum(only_spark.values())} rows only in Spark, e.g. {list(only_spark)[:3]}; "
        f"{sum(only_duck.values())} only in DuckDB, e.g. {list(only_duck)[:3]}"
    )


def assert_gold_equal(spark, ctx, con, names: list[str] | None = None) -> dict[str, int]:
    """Every gold table (or those named) equal in columns, types and rows; rows per table."""
    counts = {}
    for table in GOLD_TABLES:
        if names is not None and table.name not in names:
            continue
        spark_types, spark_rows = spark_table(spark, ctx, table)
        duck_types, duck_rows = duck_table(con, table.name)
        assert duck_types == spark_types, table.name
        assert_same_rows(table.name, spark_rows, duck_rows)
        counts[table.name] = sum(spark_rows.values())
    return counts


def assert_silver_equal(spark, ctx, con) -> int:
    silver = io.read(spark, ctx.cfg, tables.SILVER_USERS).select(*SILVER_COMPARED)
    duck = con.sql(f"SELECT {', '.join(SILVER_COMPARED)} FROM {SILVER_USERS}")
    assert_same_rows(
        "silver users",
        _counted([tuple(r) for r in silver.collect()]),
        _counted(duck.fetchall()),
    )
    return silver.count()


@pytest.fixture(scope="module")
def sample(spark, sample_gold):
    """The generator's sample of the shared ``sample_gold`` run (3000 + 800 users, a few dirty
    rows) through DuckDB: (run context, DuckDB connection holding silver_users and the
    gold tables, landing folder)."""
    landing = Path(sample_gold.cfg.landing_path)
    con = duckdb.connect()
    compute(con, landing)
    yield sample_gold, con, landing
    con.close()


@pytest.fixture(scope="module")
def duck_real(full_run):
    """The session's run of the real files through the Spark pipeline, and its landing folder
    through DuckDB (which leaves the publisher's reports out, as the comparison does)."""
    ctx, _ = full_run
    con = duckdb.connect()
    compute(con, Path(ctx.cfg.landing_path))
    yield ctx, con
    con.close()


def test_silver_users_are_the_same_rows(spark, sample):
    ctx, con, _ = sample
    # 3000 + 800 generated, less the quarantined rows and the 2020 versions of shared users
    assert 3600 < assert_silver_equal(spark, ctx, con) < 3800


def test_every_gold_table_is_the_same_on_the_generated_sample(spark, sample):
    ctx, con, _ = sample
    counts = assert_gold_equal(spark, ctx, con)
    assert set(counts) == {t.name for t in GOLD_TABLES}
    assert counts[tables.TOP_BUYERS.name] == counts[tables.TOP_SELLERS.name] == 100
    # 2020's four stages and 2024's three (no login data: no 'active' stage)
    assert counts[tables.AGG_ENGAGEMENT_FUNNEL.name] == 7


def test_gold_with_duckdb_writes_each_table_to_parquet_with_its_rows(sample, tmp_path):
    _, con, landing = sample
    result = gold_with_duckdb(landing, tmp_path / "out", threads=1)
    assert set(result.files) == {t.name for t in GOLD_TABLES}
    for name, path in result.files.items():
        assert _counted(duckdb.read_parquet(str(path)).fetchall()) == duck_table(con, name)[1]
    assert set(result.timings) == {"read_conform", "aggregates", "write", "total"}
    assert result.rows == {}


def test_the_cli_prints_each_stage_and_the_total(sample, capsys):
    _, _, landing = sample
    bench_duckdb.main(["--input", str(landing), "--threads", "1"])
    out = capsys.readouterr().out
    for label in ("fact_users", "read_conform", "aggregates", "write", "total"):
        assert label in out


def test_real_data_gives_the_same_silver_and_gold(spark, duck_real):
    ctx, con = duck_real
    users = assert_silver_equal(spark, ctx, con)
    counts = assert_gold_equal(spark, ctx, con)
    assert counts[tables.FACT_USERS.name] == users > 100_000


def test_rules_are_silvers_own_in_the_same_order(spark):
    for kind in USERS_KINDS:
        ours = [(name, policy) for name, policy, _ in rules_for(kind)]
        assert ours == [(r.name, r.policy) for r in user_rules(kind)], kind.name


EDGE_TEXT = [
    *["1", " 1 ", "+1", "-0", "007", "\t7\t", "1.0", "1.5", "1e3", "", "abc", "0x10", "1_000"],
    *["9223372036854775808", "2147483648", "\u0661", "1.", ".5", "NaN", "-NaN", "nan", "-nan"],
    *["Infinity", "inf", "-INF", "+infinity", "1d", "1f", "1,5", "  2.50  ", "1e400", "1E-5"],
    *["3.0e1", "-0.0", "1e5d"],
]


def test_text_is_typed_as_sparks_try_cast_types_it(spark):
    df = spark.createDataFrame([(v,) for v in EDGE_TEXT], "s string")
    expected = {
        r["s"]: (r["b"], r["i"], r["d"])
        for r in df.select(
            "s",
            # as silver casts: no trim, the cast trims white space itself
            F.col("s").try_cast("bigint").alias("b"),
            F.col("s").try_cast("int").alias("i"),
            F.col("s").try_cast("double").alias("d"),
        ).collect()
    }
    con = duckdb.connect()
    bench_duckdb.prepare(con)
    got = {
        s: (b, i, d)
        for s, b, i, d in con.execute(
            "SELECT s, spark_bigint(trim(s)), spark_int(trim(s)), spark_double(trim(s)) "
            "FROM (SELECT unnest(?::VARCHAR[]) AS s)",
            [EDGE_TEXT],
        ).fetchall()
    }
    same_nan = lambda a, b: a == b or (a != a and b != b)  # noqa: E731
    for s in EDGE_TEXT:
        assert all(same_nan(a, b) for a, b in zip(got[s], expected[s], strict=True)), (
            s,
            got[s],
            expected[s],
        )


def test_percentages_round_half_up_like_spark_not_like_duckdbs_round(spark):
    pairs = [(part, whole) for whole in range(1, 401) for part in range(0, whole + 1, 3)]
    expected = {
        (r["p"], r["w"]): r["pct"]
        for r in spark.createDataFrame(pairs, "p long, w long")
        .select("p", "w", F.round(F.try_divide(F.col("p") * 100.0, F.col("w")), 2).alias("pct"))
        .collect()
    }
    con = duckdb.connect()
    got = dict(
        ((p, w), pct)
        for p, w, pct in con.execute(
            f"SELECT p, w, {bench_duckdb._pct('p', 'w')} FROM (SELECT unnest(?::BIGINT[]) AS p, "
            "unnest(?::BIGINT[]) AS w)",
            [[p for p, _ in pairs], [w for _, w in pairs]],
        ).fetchall()
    )
    assert got == expected
    # The difference that makes this necessary: 201 of 20000 is 1.005 %.
    assert spark.range(1).select(F.round(F.lit(201 * 100.0 / 20000), 2)).first()[0] == 1.01
    assert con.execute("SELECT round((201 * 100.0 / 20000)::DOUBLE, 2)").fetchone()[0] == 1.0
    assert con.execute(f"SELECT {bench_duckdb._pct('201', '20000')}").fetchone()[0] == 1.01


def test_a_folder_without_users_files_is_refused(tmp_path: Path):
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="no users CSV file"):
        gold_with_duckdb(tmp_path)


# The one corpus case read differently (see the module's docstring, and the test below).
QUOTED_LINE_BREAK = "quoted_newline"
# Its user whose country holds the line break (tests/etl/corpus/build.py).
QUOTED_LINE_BREAK_USER = 10002


@pytest.fixture(scope="module")
def duck_corpus(spark, corpus_run, tmp_path_factory):
    """The bad-input corpus (tests/etl/corpus) through the Spark pipeline and through DuckDB,
    but for the one user DuckDB reads differently (a quoted line break).

    Spark's side is the session's bronze and silver run of the corpus, copied and taken on
    through gold. DuckDB reads the same landing folder; the user whose quoted line break
    Spark quarantines as two malformed halves is, for DuckDB, one user: it must be the only
    difference, and gold is rebuilt without it (see the test below for how DuckDB reads it)."""
    landing, lake = copy_lake(corpus_run.landing.parent, tmp_path_factory.mktemp("duck-corpus"))
    ctx = RunContext(local_config(landing, lake), new_run_id())
    run(RunRequest(ctx.cfg, ctx.run_id, steps=("gold",)), spark)
    con = duckdb.connect()
    compute(con, landing)
    one_field = (
        f"source_file = '{QUOTED_LINE_BREAK}/users.csv' AND contains(country_name_source, chr(10))"
    )
    read_as_one = con.execute(f"SELECT identifier_hash FROM {SILVER_USERS} WHERE {one_field}")
    assert read_as_one.fetchall() == [(QUOTED_LINE_BREAK_USER,)]
    con.execute(f"DELETE FROM {SILVER_USERS} WHERE {one_field}")
    build_gold(con)
    yield ctx, con
    con.close()


def test_the_bad_input_corpus_gives_the_same_silver_and_gold(spark, duck_corpus):
    ctx, con = duck_corpus
    assert assert_silver_equal(spark, ctx, con) > 20
    assert_gold_equal(spark, ctx, con)


def test_a_quoted_line_break_is_one_field_for_duckdb(tmp_path: Path):
    """Spark reads line by line, so the corpus's quoted line break makes two malformed lines,
    quarantined (tests/etl/corpus/cases.toml); DuckDB follows RFC 4180 and reads one user."""
    shutil.copytree(CORPUS_FILES / QUOTED_LINE_BREAK, tmp_path / QUOTED_LINE_BREAK)
    con = duckdb.connect()
    compute(con, tmp_path)
    names = con.execute(f"SELECT country_name_source FROM {SILVER_USERS}").fetchall()
    assert sorted(names) == [("Etats\nUnis",), ("Etats-Unis",), ("Etats-Unis",)]
