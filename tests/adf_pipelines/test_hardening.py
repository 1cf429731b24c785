"""Hardening properties of the factory's documents, in every environment: what carries a
secret stays out of run monitoring, linked services hold no credential, and the event trigger
reacts to partner drops only (``make mutants`` checks that weakening each one fails a test)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from c2c_adf.factory import DROPS_FOLDER, RUNS_FOLDER
from tests.adf_pipelines.conftest import activities

ENVS = ("dev", "test", "prod")
by_env = pytest.mark.parametrize("env", ENVS)
# Property names under which a linked service would hold a credential of its own.
CREDENTIALS = re.compile(
    r"accountkey|accesstoken|connectionstring|password|sastoken|sasuri|serviceprincipalkey"
    r"|credential|secret",
    re.I,
)


def keys(value: Any) -> list[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in (k, *keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in keys(v)]
    return []


@by_env
def test_whatever_reads_a_hidden_output_hides_its_own_input_and_output(
    env: str, docs: dict[str, Any]
) -> None:
    """An activity whose output is hidden (a Key Vault secret) passes the secret on only to
    activities that hide their input and output too."""
    checked = 0
    for pipeline in docs[env]["pipeline"].values():
        acts = {a["name"]: a for a in activities(pipeline)}
        hidden = {n for n, a in acts.items() if a.get("policy", {}).get("secureOutput")}
        for name, activity in acts.items():
            text = json.dumps(activity.get("typeProperties", {}))
            for source in hidden:
                if f"activity('{source}')" in text:
                    checked += 1
                    assert activity["policy"]["secureInput"] is True, (name, source)
                    assert activity["policy"]["secureOutput"] is True, (name, source)
    assert checked, "no activity reads the Key Vault secret any more: update this test"


@by_env
def test_the_key_vault_read_is_a_hidden_managed_identity_call(
    env: str, docs: dict[str, Any]
) -> None:
    vault_calls = [
        a
        for pipeline in docs[env]["pipeline"].values()
        for a in activities(pipeline)
        if a["type"] == "WebActivity" and "vault.azure.net" in json.dumps(a["typeProperties"])
    ]
    assert vault_calls
    for call in vault_calls:
        assert call["typeProperties"]["authentication"] == {
            "type": "MSI",
            "resource": "https://vault.azure.net",
        }
        assert call["typeProperties"]["url"].startswith("https://")
        assert call["policy"]["secureOutput"] is True and call["policy"]["secureInput"] is True


@by_env
def test_linked_services_hold_no_credential_and_sign_in_as_the_factory(
    env: str, docs: dict[str, Any]
) -> None:
    for name, doc in docs[env]["linkedService"].items():
        props = doc["properties"]
        held = [k for k in keys(props["typeProperties"]) if CREDENTIALS.search(k)]
        assert held == [], name
        authentication = props["typeProperties"].get("authentication")
        assert authentication in (None, "MSI"), name


@by_env
def test_the_event_trigger_fires_on_partner_drops_only(env: str, docs: dict[str, Any]) -> None:
    """Ingest copies every file into landing/runs/: a trigger on all of landing would start a
    transform for each copied file, besides the one the daily run starts."""
    (trigger,) = (
        t for t in docs[env]["trigger"].values() if t["properties"]["type"] == "BlobEventsTrigger"
    )
    props = trigger["properties"]["typeProperties"]
    assert props["blobPathBeginsWith"] == f"/landing/blobs/{DROPS_FOLDER}/"
    assert not f"/landing/blobs/{RUNS_FOLDER}/".startswith(props["blobPathBeginsWith"])
    # Every file: a .csv.gz (or a file bronze will skip with its reason) starts a run too.
    assert "blobPathEndsWith" not in props
    assert props["events"] == ["Microsoft.Storage.BlobCreated"]
