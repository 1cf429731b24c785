"""Data quality rules: small named predicates, one engine that applies them.

A rule is a ``Column`` that is TRUE when a row breaks it. Its policy says what happens then:
``QUARANTINE`` takes the row out of silver into the quarantine table; ``FLAG`` keeps the row and
records the rule name in its ``dq_flags``. Each failing row carries the names of every rule it
broke, so one look at the quarantine tells why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

QUARANTINE_RULES_COL = "_quarantine_rules"
FLAG_RULES_COL = "dq_flags"


class Policy(StrEnum):
    QUARANTINE = "quarantine"
    FLAG = "flag"


@dataclass(frozen=True)
class Rule:
    name: str
    policy: Policy
    description: str
    violated: Column  # TRUE when the row breaks the rule; NULL counts as not broken


def _names_of(rules: Sequence[Rule]) -> Column:
    """The names of the rules a row breaks, in rule order (an empty array when none).

    Built as a comma-joined string split back into an array: ``concat_ws`` skips the rules not
    broken and compiles to Java with the rest of the stage. ``filter(array, lambda)`` does the
    same, but a lambda is interpreted row by row (slower, docs/performance.md). Rule names
    never contain a comma.
    """
    if not rules:
        return F.array().cast("array<string>")
    joined = F.concat_ws(",", *[F.when(r.violated, F.lit(r.name)) for r in rules])
    return F.when(joined == "", F.array().cast("array<string>")).otherwise(F.split(joined, ","))


def apply_rules(df: DataFrame, rules: Sequence[Rule]) -> DataFrame:
    """Add the names of the quarantine rules and of the flag rules each row breaks."""
    quarantine = [r for r in rules if r.policy is Policy.QUARANTINE]
    flags = [r for r in rules if r.policy is Policy.FLAG]
    return df.withColumn(QUARANTINE_RULES_COL, _names_of(quarantine)).withColumn(
        FLAG_RULES_COL, _names_of(flags)
    )


def quarantined() -> Column:
    """TRUE for a checked row that breaks at least one quarantine rule."""
    return F.size(F.col(QUARANTINE_RULES_COL)) > 0


def split_valid(checked: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(rows that pass every quarantine rule, rows that break at least one)."""
    return checked.filter(~quarantined()), checked.filter(quarantined())
