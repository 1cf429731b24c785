"""The factory as files: ADF's git layout and an ARM template with per-environment parameters.

Output is deterministic: keys sorted, two-space indent, one trailing newline, no timestamps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from c2c_adf.config import AdfConfig
from c2c_adf.factory import Factory

API_VERSION = "2018-06-01"
# ADF git folder -> ARM resource type (and the REST collection name the SDK uses).
RESOURCE_TYPES = {
    "linkedService": "Microsoft.DataFactory/factories/linkedServices",
    "dataset": "Microsoft.DataFactory/factories/datasets",
    "pipeline": "Microsoft.DataFactory/factories/pipelines",
    "trigger": "Microsoft.DataFactory/factories/triggers",
}
REFERENCE_KINDS = {
    "LinkedServiceReference": "linkedService",
    "DatasetReference": "dataset",
    "PipelineReference": "pipeline",
}


def properties(resource: Any) -> dict[str, Any]:
    """The ``properties`` of a model object, as ADF's REST API and git layout expect them."""
    body: dict[str, Any] = resource.serialize()
    return body["properties"]


def documents(factory: Factory) -> dict[str, dict[str, dict[str, Any]]]:
    """Every object as its git-layout document, by folder then name."""
    return {
        kind: {
            name: {"name": name, "type": RESOURCE_TYPES[kind], "properties": properties(obj)}
            for name, obj in objects.items()
        }
        for kind, objects in factory.kinds().items()
    }


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def references(value: Any) -> list[tuple[str, str]]:
    """Every (kind, name) a document refers to: linked services, datasets, pipelines."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        kind = REFERENCE_KINDS.get(str(value.get("type")))
        if kind and "referenceName" in value:
            found.append((kind, value["referenceName"]))
        for item in value.values():
            found.extend(references(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(references(item))
    return found


def deployment_values(cfg: AdfConfig) -> dict[str, str]:
    """ARM parameter name -> this environment's value, for the values known only at deploy."""
    values = {
        "databricksWorkspaceUrl": cfg.workspace_url,
        "databricksWorkspaceResourceId": cfg.workspace_resource_id,
        "etlJobId": cfg.job_id,
        "storageAccountResourceId": cfg.storage_account_id,
        "keyVaultUrl": cfg.key_vault_url,
        "lakeUrl": cfg.lake_url,
        "sourceBlobEndpoint": cfg.source_blob_endpoint,
    }
    if cfg.refreshes_powerbi:  # PL_RefreshModel's workspaceId default
        values["fabricWorkspaceId"] = cfg.fabric_workspace_id
    return values


def _parameterise(value: Any, by_value: dict[str, str]) -> Any:
    """Replace config values by ARM parameter expressions; escape literal leading brackets."""
    if isinstance(value, dict):
        return {k: _parameterise(v, by_value) for k, v in value.items()}
    if isinstance(value, list):
        return [_parameterise(v, by_value) for v in value]
    if isinstance(value, str):
        if value in by_value:
            return f"[parameters('{by_value[value]}')]"
        # A URL under a deployment URL (an API path of the workspace): the parameter, then
        # the path, so the deployed value is the parameter's and never the build's.
        for known, name in by_value.items():
            if known.startswith("https://") and value.startswith(known.rstrip("/") + "/"):
                rest = value[len(known) :].replace("'", "''")
                return f"[concat(parameters('{name}'), '{rest}')]"
        if value.startswith("["):
            return "[" + value
    return value


def arm_template(factory: Factory, cfg: AdfConfig) -> dict[str, Any]:
    """An ARM template deploying every object into an existing factory."""
    values = deployment_values(cfg)
    by_value = {v: k for k, v in values.items()}
    resources: list[dict[str, Any]] = []
    for kind, docs in documents(factory).items():
        for name, doc in docs.items():
            depends = sorted(
                {
                    f"[concat(variables('factoryId'), '/{ref_kind}s/{ref}')]"
                    for ref_kind, ref in references(doc["properties"])
                    if (ref_kind, ref) != (kind, name)
                }
            )
            resources.append(
                {
                    "name": f"[concat(parameters('factoryName'), '/{name}')]",
                    "type": RESOURCE_TYPES[kind],
                    "apiVersion": API_VERSION,
                    "properties": _parameterise(doc["properties"], by_value),
                    "dependsOn": depends,
                }
            )
    parameters: dict[str, Any] = {
        "factoryName": {"type": "string", "metadata": {"description": "Data Factory name"}}
    }
    parameters.update({name: {"type": "string"} for name in sorted(values)})
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": parameters,
        "variables": {
            "factoryId": "[concat('Microsoft.DataFactory/factories/', parameters('factoryName'))]"
        },
        "resources": resources,
    }


def arm_parameters(cfg: AdfConfig) -> dict[str, Any]:
    """The parameter file of one environment."""
    values = {"factoryName": cfg.factory_name, **deployment_values(cfg)}
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {name: {"value": values[name]} for name in sorted(values)},
    }


def write(factory: Factory, cfg: AdfConfig, out: Path) -> list[Path]:
    """Write the git layout and the ARM template under ``out``; return the files written."""
    files: dict[Path, Any] = {}
    for kind, docs in documents(factory).items():
        for name, doc in docs.items():
            files[out / kind / f"{name}.json"] = doc
    files[out / "ARMTemplateForFactory.json"] = arm_template(factory, cfg)
    files[out / "ARMTemplateParametersForFactory.json"] = arm_parameters(cfg)
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(content), encoding="utf-8")
    return sorted(files)
