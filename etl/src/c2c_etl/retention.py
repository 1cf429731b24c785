"""Retention policy per layer, defined once (docs/data_handling.md explains the choices).

Delta keeps two kinds of history: the transaction log (``delta.logRetentionDuration``: how far
back DESCRIBE HISTORY and time travel reach) and the data files a newer version no longer uses
(``delta.deletedFileRetentionDuration``: what VACUUM must keep). ``io`` sets both on every table
when it is created, from the layer's policy; ``c2c-ops vacuum`` refuses a retention below the
table's own ``delta.deletedFileRetentionDuration``. Landing files live in storage, not in Delta:
their lifecycle rule (``c2c_infra.platform``) takes its days from here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from c2c_etl.tables import BRONZE, GOLD, SILVER


@dataclass(frozen=True)
class LayerRetention:
    """How long a layer keeps its Delta history and its unreferenced files, in days."""

    log_days: int
    deleted_file_days: int

    def table_properties(self) -> dict[str, str]:
        """The Delta table properties that carry this policy."""
        return {
            "delta.logRetentionDuration": f"interval {self.log_days} days",
            "delta.deletedFileRetentionDuration": f"interval {self.deleted_file_days} days",
        }


# Bronze and silver: 30 days of history, 14 days of old files, so a bad run found within two
# weeks can be restored (RESTORE needs the files). Gold is rebuilt from silver at every run:
# 7 days (Delta's default, the floor c2c-ops vacuum accepts).
POLICY: dict[str, LayerRetention] = {
    BRONZE: LayerRetention(log_days=30, deleted_file_days=14),
    SILVER: LayerRetention(log_days=30, deleted_file_days=14),
    GOLD: LayerRetention(log_days=14, deleted_file_days=7),
}

# Landing (storage lifecycle, not Delta): bronze holds every ingested file's rows, so landing
# copies go to the cool tier after 30 days and are deleted after 365 (kept a year for reruns
# and audits of what the source delivered).
LANDING_COOL_AFTER_DAYS = 30
LANDING_DELETE_AFTER_DAYS = 365


def table_properties(layer: str) -> dict[str, str]:
    """The retention table properties of a layer's tables."""
    return POLICY[layer].table_properties()
