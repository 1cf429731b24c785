"""Every table of the lake, named once. Jobs, infra and dashboards import these names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BRONZE, SILVER, GOLD = "bronze", "silver", "gold"
LAYERS = (BRONZE, SILVER, GOLD)
Kind = Literal["table", "view"]
TABLE: Kind = "table"
VIEW: Kind = "view"


@dataclass(frozen=True)
class Table:
    """A name of the lake. Most hold Delta tables; a ``VIEW`` is a SELECT over them
    (c2c_etl.gold.views.GOLD_VIEWS), read like a table but with no files or versions of its
    own: nothing writes, compacts, vacuums or restores it. The kind is not part of the name's
    identity, so a name parsed from text finds its table."""

    layer: str
    name: str
    kind: Kind = field(default=TABLE, compare=False)

    def __str__(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def is_view(self) -> bool:
        return self.kind == VIEW


# Bronze: raw rows as read, one table per source schema, plus the log of ingested files.
BRONZE_USERS_2020 = Table(BRONZE, "users_2020")
BRONZE_USERS_2024 = Table(BRONZE, "users_2024")
BRONZE_REPORT_BUYERS = Table(BRONZE, "report_buyers_by_country")
BRONZE_REPORT_SELLERS = Table(BRONZE, "report_sellers_by_gender_country")
BRONZE_REPORT_TOP_SELLERS = Table(BRONZE, "report_top_seller_countries")
INGESTION_LOG = Table(BRONZE, "ingestion_log")
# Not a table: the bronze schema's volume of files rejected whole (config.dead_letter_path).
DEAD_LETTER_VOLUME = "dead_letter"

# Silver: conformed users, their quarantine, typed publisher reports, the run audit and steps.
SILVER_USERS = Table(SILVER, "users")
SILVER_QUARANTINE = Table(SILVER, "quarantine")
SILVER_REPORT_BUYERS = Table(SILVER, "report_buyers_by_country")
SILVER_REPORT_SELLERS = Table(SILVER, "report_sellers_by_gender_country")
SILVER_REPORT_SELLERS_TOTALS = Table(SILVER, "report_sellers_by_gender_totals")
SILVER_REPORT_TOP_SELLERS = Table(SILVER, "report_top_seller_countries")
RUN_AUDIT = Table(SILVER, "run_audit")
# One row per step of a run that had work: started, then succeeded or failed (with the error).
RUN_STEPS = Table(SILVER, "run_steps")
# Not for readers: the last batch of rows MERGEd into silver.users, written just before its
# MERGE reads it (c2c_etl.io.upsert's staging) and replaced by the next.
SILVER_USERS_MERGE_SOURCE = Table(SILVER, "users_merge_source")
# Not for readers: a large batch's checked rows (c2c_etl.jobs.silver), replaced by the next.
SILVER_USERS_CHECKED = Table(SILVER, "users_checked")

# Gold: star schema and aggregates for the business questions.
# The user fact (silver users with their segments), the country dimension and four small
# aggregates of the user counts below, and the two top-100 lists of the user fact: views,
# computed when read, so a run that changes users writes nothing for them.
DIM_COUNTRY = Table(GOLD, "dim_country", VIEW)
FACT_USERS = Table(GOLD, "fact_users", VIEW)
AGG_COUNTRY_GENDER = Table(GOLD, "agg_buyers_sellers_by_country_gender", VIEW)
TOP_BUYERS = Table(GOLD, "top_buyers", VIEW)
TOP_SELLERS = Table(GOLD, "top_sellers", VIEW)
AGG_APP_ADOPTION = Table(GOLD, "agg_app_adoption", VIEW)
AGG_ENGAGEMENT_FUNNEL = Table(GOLD, "agg_engagement_funnel", VIEW)
AGG_SENIORITY_COHORTS = Table(GOLD, "agg_seniority_cohorts", VIEW)
# The additive user counts the dimension and the four aggregates above are built from
# (c2c_etl.gold.counts).
AGG_USER_COUNTS = Table(GOLD, "agg_user_counts")
# The additive sums the reconciliation recomputes the publisher's reports from
# (c2c_etl.gold.reconciliation).
AGG_REPORT_SUMS = Table(GOLD, "agg_report_sums")
RECONCILIATION = Table(GOLD, "publisher_report_reconciliation")

ALL_TABLES: tuple[Table, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Table))
# The names that hold Delta tables: what a step writes and maintenance compacts or vacuums.
STORED_TABLES: tuple[Table, ...] = tuple(t for t in ALL_TABLES if not t.is_view)
VIEW_TABLES: tuple[Table, ...] = tuple(t for t in ALL_TABLES if t.is_view)
# Gold's Delta tables, which the gold step writes (its views are not written).
STORED_GOLD_TABLES: tuple[Table, ...] = tuple(t for t in STORED_TABLES if t.layer == GOLD)
# Tables whose content is a step's scratch, replaced at each write: never compacted.
STAGING_TABLES: tuple[Table, ...] = (SILVER_USERS_MERGE_SOURCE, SILVER_USERS_CHECKED)
# Tables earlier versions wrote that no step writes any more: the gold step removes them
# (c2c_etl.io.retire_view_tables). Not in ALL_TABLES: nothing reads, writes or maintains them.
RETIRED_TABLES: tuple[Table, ...] = (Table(SILVER, "fact_users_merge_source"),)
