"""Delta table properties that keep the lake fast as it grows, set at creation.

Small files are compacted by the jobs themselves (c2c_etl.compaction), not by a table property.
Each one's measured effect is in docs/performance.md:

- Deletion vectors (silver users): a MERGE that updates a few users marks
  their old rows as deleted instead of rewriting every file that holds one (users are spread
  over all files, so an update of 1% of them would otherwise rewrite the whole table).
- Change data feed (silver users): the gold job reads the users a run changed and adds only
  their change to the user counts and report sums, instead of counting every user again.
- Statistics on the columns queries filter on (the big tables): Delta keeps a minimum, maximum
  and null count per file for data skipping, by default of the first 32 columns, computed
  while each file is written. Users are not sorted by any column, so every file spans every
  country, gender or count, and those statistics skip nothing while they slow every write of
  the big tables. They are kept on the lineage columns, which do skip files (silver reads one
  delivery's bronze rows by its content hash; an operator finds a run's or a file's rows), and
  on the keys. Delta still counts each file's rows, so a ``count()`` stays a read of the log.
"""

from __future__ import annotations

from collections.abc import Iterable

from c2c_etl.tables import (
    BRONZE_USERS_2020,
    BRONZE_USERS_2024,
    SILVER_USERS,
    SILVER_USERS_CHECKED,
    Table,
)

DELETION_VECTORS = {"delta.enableDeletionVectors": "true"}
CHANGE_FEED = {"delta.enableChangeDataFeed": "true"}
STATS_COLUMNS_PROPERTY = "delta.dataSkippingStatsColumns"
# Tables a MERGE updates in place, and tables whose changes a later step reads.
MERGED = (SILVER_USERS,)
FEEDS = (SILVER_USERS,)
# The columns each big table keeps file statistics on (the others keep Delta's default).
BRONZE_LINEAGE = ("_source_sha256", "_source_file", "_run_id", "_ingested_at")
STATS_COLUMNS: dict[Table, tuple[str, ...]] = {
    BRONZE_USERS_2020: BRONZE_LINEAGE,
    BRONZE_USERS_2024: BRONZE_LINEAGE,
    SILVER_USERS: ("identifier_hash", "release", "source_sha256", "run_id", "ingested_at"),
    # Scratch, read whole: statistics on one column only. (An empty list here means Delta's
    # default; Delta itself also takes none, `delta.dataSkippingNumIndexedCols` = 0, but one
    # column's statistics are not worth a second mechanism.)
    SILVER_USERS_CHECKED: ("source_sha256",),
}


def table_features(table: Table, columns: Iterable[str]) -> dict[str, str]:
    """The performance properties of ``table``, as Delta writer options, for a write of
    ``columns`` (statistics only on those of the table's list that the data has: Delta
    refuses a name it does not find, and a test may write a table with other columns)."""
    present = set(columns)
    stats = [c for c in STATS_COLUMNS.get(table, ()) if c in present]
    return {
        **(DELETION_VECTORS if table in MERGED else {}),
        **(CHANGE_FEED if table in FEEDS else {}),
        **({STATS_COLUMNS_PROPERTY: ",".join(stats)} if stats else {}),
    }
