"""Bronze ingestion's pieces: listing and hashing the landing files (this module's only file
I/O), choosing what to ingest, and the columns every bronze row carries."""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from pathlib import Path

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from c2c_etl.sources import SourceKind

CORRUPT_COLUMN = "_corrupt_record"
METADATA_COLUMNS = (
    "_source_file",
    "_source_sha256",
    "_release",
    "_run_id",
    "_ingested_at",
    "_parse_error",
)


@dataclass(frozen=True)
class LandedFile:
    """A file found in the landing area."""

    path: str  # absolute path
    name: str  # path relative to the landing folder: the name lineage columns show
    sha256: str
    size: int


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _in_lake_folder(root: Path, path: Path) -> bool:
    return any(part.startswith(("_", ".")) for part in path.relative_to(root).parts[:-1])


def _landed(root: Path, paths: Iterable[Path]) -> list[LandedFile]:
    return [
        LandedFile(str(p), str(p.relative_to(root)), sha256_of(p), p.stat().st_size)
        for p in sorted(paths)
    ]


def list_landing(landing: str | Path) -> list[LandedFile]:
    """Every file under the landing folder (recursively, of any name), sorted by relative path:
    bronze decides from its bytes what each one is, never from its name alone.

    Folders whose name starts with ``_`` or ``.`` are not data: ``_rejected/`` holds files an
    operator moved aside (``c2c-ops files reject``), ``_logs/`` Data Factory's logs. Their
    files are :func:`list_set_aside`'s.
    """
    root = Path(landing)
    return _landed(
        root, (p for p in root.rglob("*") if p.is_file() and not _in_lake_folder(root, p))
    )


def list_set_aside(landing: str | Path) -> list[LandedFile]:
    """The files in the landing folder's ``_`` and ``.`` folders: not read, but accounted for
    (bronze logs each one once as skipped, with the folder that set it aside)."""
    root = Path(landing)
    return _landed(root, (p for p in root.rglob("*") if p.is_file() and _in_lake_folder(root, p)))


# What Hadoop's path globbing treats as special: escaped, a name is matched as written.
GLOB_CHARACTERS = re.compile(r"([\\{}\[\]*?])")


def spark_path(path: str) -> str:
    """A file's path as Spark's readers take it: they expand glob patterns, so a name such as
    ``users[1].csv`` is escaped to mean that one file."""
    return GLOB_CHARACTERS.sub(r"\\\1", path)


def unreadable_name(name: str) -> str | None:
    """Why Spark cannot read a file by this name, or None. Hadoop's paths take a ':' for a URI
    scheme's, and Spark's file listing leaves out a file whose name starts with ``_`` or ``.``
    (its own markers, such as ``_SUCCESS``) even when it is named on its own: it would read
    no row."""
    base = name.rsplit("/", 1)[-1]
    if ":" in name:
        return "a ':' in its name, which Spark cannot open: rename the file without it"
    if base.startswith(("_", ".")):
        return f"its name starts with '{base[0]}', which Spark skips as a hidden file: rename it"
    return None


# Names a delivery gives its CSV files: such a file that cannot be read is rejected (a copy
# with the reason goes to the dead-letter area); any other file is ingested when its content
# is a known CSV, and skipped with the reason when not (a README, a photo, a spreadsheet).
CSV_NAMES = (".csv", ".csv.gz")


def named_as_csv(name: str) -> bool:
    return name.lower().endswith(CSV_NAMES)


def select_new(
    files: Iterable[LandedFile], known_sha256: set[str]
) -> tuple[list[LandedFile], list[tuple[LandedFile, LandedFile]]]:
    """Split landing files into new ones and re-deliveries of content seen in this same batch.

    Content already ingested (``known_sha256``) is skipped without a trace: that is a re-run.
    Two files with the same content in one delivery: the first by name is ingested, the other
    is returned with its twin so it can be logged as a duplicate delivery.
    """
    new: list[LandedFile] = []
    duplicates: list[tuple[LandedFile, LandedFile]] = []
    first_by_sha: dict[str, LandedFile] = {}
    for f in files:
        if f.sha256 in known_sha256:
            continue
        if f.sha256 in first_by_sha:
            duplicates.append((f, first_by_sha[f.sha256]))
            continue
        first_by_sha[f.sha256] = f
        new.append(f)
    return new, duplicates


def raw_schema(kind: SourceKind, header: tuple[str, ...]) -> StructType:
    """All-string schema in the file's own column order, plus the corrupt-record column."""
    fields = [StructField(c, StringType()) for c in header]
    return StructType([*fields, StructField(CORRUPT_COLUMN, StringType())])


TRUNCATED_PREFIX = "truncated last line"
TRUNCATED_LAST_LINE = (
    f"{TRUNCATED_PREFIX}: the file ends inside this row, with no line end (a cut or partial "
    "upload?): deliver the whole file"
)


def truncated_row(raw: DataFrame) -> Column:
    """TRUE for the bronze row bronze marked as its file's cut last line."""
    if "_parse_error" not in raw.columns:
        return F.lit(False)
    return F.coalesce(F.col("_parse_error").startswith(TRUNCATED_PREFIX), F.lit(False))


def parse_error(corrupt: Column, expected_columns: int, truncated: Column | None = None) -> Column:
    malformed = F.when(
        corrupt.isNotNull(),
        F.format_string(
            "malformed row: expected %d comma-separated fields, found %d",
            F.lit(expected_columns),
            F.size(F.split(corrupt, ",")),
        ),
    )
    if truncated is None:
        return malformed
    return F.when(truncated, F.lit(TRUNCATED_LAST_LINE)).otherwise(malformed)


def unterminated_row(header: tuple[str, ...], line: str) -> Column:
    """TRUE for the row Spark reads from ``line``, a file's last line with no line end.

    Spark keeps no line numbers, so the row is found by its content: its fields as Spark
    splits them (an empty field is null), or, when they do not fit the header, its corrupt
    record, which is the line itself. A same row earlier in the file matches too: it is a
    duplicate of a row that may be cut, and is quarantined with it.
    """
    line = line.rstrip("\r")
    values = next(csv.reader([line]), [])
    matches = [F.col(CORRUPT_COLUMN) == F.lit(line)]
    if len(values) == len(header):
        fields = [
            F.col(c).eqNullSafe(F.lit(v or None)) for c, v in zip(header, values, strict=True)
        ]
        matches.append(F.col(CORRUPT_COLUMN).isNull() & reduce(Column.__and__, fields))
    return F.coalesce(reduce(Column.__or__, matches), F.lit(False))


def add_ingestion_metadata(
    raw: DataFrame,
    kind: SourceKind,
    landed: LandedFile,
    run_id: str,
    ingested_at: str,
    truncated: Column | None = None,
) -> DataFrame:
    """Source columns as read, in the kind's canonical order, plus lineage columns.
    ``truncated``: TRUE for the row of a last line with no line end (:func:`unterminated_row`)."""
    return raw.select(
        *[F.col(c) for c in kind.columns],
        F.col(CORRUPT_COLUMN),
        F.lit(landed.name).alias("_source_file"),
        F.lit(landed.sha256).alias("_source_sha256"),
        F.lit(kind.release).cast("string").alias("_release"),
        F.lit(run_id).alias("_run_id"),
        F.lit(ingested_at).cast("timestamp").alias("_ingested_at"),
        parse_error(F.col(CORRUPT_COLUMN), len(kind.columns), truncated).alias("_parse_error"),
    )
