"""Delta table properties that keep the lake fast as it grows (issue 7), set at creation.

Small files are compacted by the jobs themselves (c2c_etl.compaction), not by a table property.
Both are measured by ``make bench`` (bench-results/bench.md):

- Deletion vectors (silver users, gold fact_users): a MERGE that updates a few users marks
  their old rows as deleted instead of rewriting every file that holds one (users are spread
  over all files, so an update of 1% of them would otherwise rewrite the whole table).
- Change data feed (silver users): the gold job reads the users a run changed and MERGEs only
  those into ``fact_users``, instead of rewriting one row per user at every run.
"""

from __future__ import annotations

from c2c_etl.tables import FACT_USERS, SILVER_USERS, Table

DELETION_VECTORS = {"delta.enableDeletionVectors": "true"}
CHANGE_FEED = {"delta.enableChangeDataFeed": "true"}
# Tables a MERGE updates in place, and tables whose changes a later step reads.
MERGED = (SILVER_USERS, FACT_USERS)
FEEDS = (SILVER_USERS,)


def table_features(table: Table) -> dict[str, str]:
    """The performance properties of ``table``, as Delta writer options."""
    return {
        **(DELETION_VECTORS if table in MERGED else {}),
        **(CHANGE_FEED if table in FEEDS else {}),
    }
