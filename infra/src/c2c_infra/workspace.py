"""Inside the Databricks workspace: Unity Catalog objects, the ETL job, a SQL warehouse, grants.

The job's tasks call the ``c2c-etl`` wheel's entry points by the names defined in
``c2c_etl.entrypoints`` (imported, never retyped), with the parameters the jobs accept.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

from cdktn import (
    TerraformOutput,
    TerraformResourceLifecycle,
    TerraformStack,
    TerraformVariable,
    Token,
)
from cdktn_provider_databricks.catalog import Catalog
from cdktn_provider_databricks.cluster_policy import ClusterPolicy
from cdktn_provider_databricks.dashboard import Dashboard
from cdktn_provider_databricks.data_databricks_current_metastore import (
    DataDatabricksCurrentMetastore,
)
from cdktn_provider_databricks.data_databricks_group import DataDatabricksGroup
from cdktn_provider_databricks.external_location import ExternalLocation
from cdktn_provider_databricks.grants import Grants, GrantsGrant
from cdktn_provider_databricks.job import (
    Job,
    JobJobCluster,
    JobParameter,
    JobRunAs,
    JobTask,
    JobTaskDependsOn,
    JobTaskLibrary,
)
from cdktn_provider_databricks.mws_ncc_binding import MwsNccBinding
from cdktn_provider_databricks.mws_ncc_private_endpoint_rule import MwsNccPrivateEndpointRule
from cdktn_provider_databricks.mws_network_connectivity_config import (
    MwsNetworkConnectivityConfig,
)
from cdktn_provider_databricks.permissions import Permissions, PermissionsAccessControl
from cdktn_provider_databricks.provider import DatabricksProvider
from cdktn_provider_databricks.schema import Schema
from cdktn_provider_databricks.service_principal import ServicePrincipal
from cdktn_provider_databricks.sql_endpoint import SqlEndpoint, SqlEndpointTagsCustomTags
from cdktn_provider_databricks.storage_credential import StorageCredential
from cdktn_provider_databricks.volume import Volume
from cdktn_provider_databricks.workspace_conf import WorkspaceConf
from constructs import Construct

from c2c_etl.entrypoints import COMMON_PARAMETERS, JOB_TASKS
from c2c_etl.tables import BRONZE, DEAD_LETTER_VOLUME, LAYERS
from c2c_infra.backend import configure_backend
from c2c_infra.platform import ARTIFACTS, CATALOG_ROOT, CONTAINERS, LANDING, PlatformStack
from c2c_reporting.lakeview import DISPLAY_NAME, serialized_dashboard
from c2c_settings.config import (
    OPS_SCHEMA,
    TASK_MAX_RETRIES,
    TASK_TIMEOUT_SECONDS,
    EnvConfig,
    wheel_path,
)

SPARK_VERSION = "17.3.x-scala2.13"  # Databricks Runtime 17.3 LTS: Spark 4.0, Delta 4.0
WHEEL_PACKAGE = "c2c_etl"
# `--lake` is for local runs only; the cloud jobs address tables through Unity Catalog.
JOB_PARAMETERS = tuple(p for p in COMMON_PARAMETERS if p != "--lake")
DASHBOARD_FOLDER = "/Workspace/Shared/c2c"  # created by the provider when missing
ACCOUNT_HOST = "https://accounts.azuredatabricks.net"
# The lake's sub-resources serverless compute reaches through the NCC's private endpoints.
SERVERLESS_LAKE_ENDPOINTS = ("dfs", "blob")


def parameter_name(flag: str) -> str:
    """The job parameter behind a command-line flag: ``--run-id`` -> ``run_id``."""
    return flag.removeprefix("--").replace("-", "_")


class WorkspaceStack(TerraformStack):
    """Unity Catalog storage, catalog and schemas, the ETL job, a SQL warehouse, permissions."""

    def __init__(
        self, scope: Construct, cfg: EnvConfig, platform: PlatformStack, *, offline: bool
    ) -> None:
        stack_name = "workspace"
        super().__init__(scope, f"c2c-{cfg.env}-{stack_name}")
        configure_backend(self, cfg, stack_name, offline)
        self.add_dependency(platform)
        DatabricksProvider(
            self,
            "databricks",
            host=f"https://{platform.workspace.workspace_url}",
            azure_workspace_resource_id=platform.workspace.id,
        )
        self.cfg = cfg
        self.platform = platform
        self._prerequisites()
        self._serverless_network()
        if cfg.protected:
            # Only Entra ID tokens in the protected environment: no long-lived personal tokens.
            WorkspaceConf(self, "workspace-conf", custom_config={"enableTokensConfig": "false"})
        self._unity_catalog()
        self._job()
        self._warehouse()
        self._dashboard()
        self._permissions()

    def _prerequisites(self) -> None:
        """What the account admin sets up once, looked up so that a plan fails, naming it, when
        it is missing: the metastore assigned to the workspace and the environment's groups."""
        cfg = self.cfg
        self.metastore = DataDatabricksCurrentMetastore(self, "metastore")
        self.groups = {
            name: DataDatabricksGroup(self, f"group-{name}", display_name=name)
            for name in (cfg.engineers_group, cfg.analysts_group)
        }

    def _serverless_network(self) -> None:
        """A network connectivity configuration (account level) with private endpoints to the
        lake's dfs and blob, bound to the workspace: serverless compute (the SQL warehouse, the
        dashboard, the Files API) reaches the lake privately, whatever the lake's firewall says."""
        cfg = self.cfg
        account_id = TerraformVariable(
            self,
            "databricks_account_id",
            type="string",
            description="The Azure Databricks account ID (account console, top right)",
        ).string_value
        account = DatabricksProvider(
            self, "databricks-account", alias="account", host=ACCOUNT_HOST, account_id=account_id
        )
        self.ncc = MwsNetworkConnectivityConfig(
            self, "ncc", provider=account, name=cfg.name("ncc"), region=cfg.location
        )
        ncc_id = self.ncc.network_connectivity_config_id
        for group in SERVERLESS_LAKE_ENDPOINTS:
            MwsNccPrivateEndpointRule(
                self,
                f"ncc-lake-{group}",
                provider=account,
                network_connectivity_config_id=ncc_id,
                resource_id=self.platform.storage.id,
                group_id=group,
            )
        self.ncc_binding = MwsNccBinding(
            self,
            "ncc-binding",
            provider=account,
            network_connectivity_config_id=ncc_id,
            workspace_id=Token.as_number(self.platform.workspace.workspace_id),
        )

    def _stateful(self) -> dict[str, Any]:
        """``prevent_destroy`` on a Unity Catalog object that holds data, when protected."""
        if not self.cfg.protected:
            return {}
        return {"lifecycle": TerraformResourceLifecycle(prevent_destroy=True)}

    def _url(self, container: str, path: str = "") -> str:
        account = self.platform.storage.name
        return f"abfss://{container}@{account}.dfs.core.windows.net/{path}"

    def _unity_catalog(self) -> None:
        """Storage credential, one external location per container, the catalog and schemas."""
        cfg = self.cfg
        self.credential = StorageCredential(
            self,
            "credential",
            name=f"sc_c2c_{cfg.env}",
            azure_managed_identity={"access_connector_id": self.platform.connector.id},
            comment="The access connector's managed identity",
            depends_on=[self.metastore],
            **self._stateful(),
        )
        self.locations = {
            container: ExternalLocation(
                self,
                f"location-{container}",
                name=f"el_c2c_{cfg.env}_{container}",
                url=self._url(container),
                credential_name=self.credential.name,
                # Data Factory writes landing; Databricks only reads it.
                read_only=container == LANDING,
                comment=f"The {container} container of the lake",
                **self._stateful(),
            )
            for container in CONTAINERS
        }
        self.catalog = Catalog(
            self,
            "catalog",
            name=cfg.catalog,
            storage_root=self._url(CATALOG_ROOT),
            comment=f"C2C lakehouse, {cfg.env}",
            depends_on=[self.locations[CATALOG_ROOT]],
            **self._stateful(),
        )
        self.schemas = {
            layer: Schema(
                self,
                f"schema-{layer}",
                catalog_name=self.catalog.name,
                name=layer,
                storage_root=self._url(layer),
                comment=f"The {layer} layer",
                depends_on=[self.locations[layer]],
                **self._stateful(),
            )
            for layer in LAYERS
        }
        ops = Schema(
            self,
            "schema-ops",
            catalog_name=self.catalog.name,
            name=OPS_SCHEMA,
            comment="Landing files and job artifacts, as volumes",
            **self._stateful(),
        )
        self.schemas[OPS_SCHEMA] = ops
        self.volumes = {
            name: Volume(
                self,
                f"volume-{name}",
                catalog_name=self.catalog.name,
                schema_name=ops.name,
                name=name,
                volume_type="EXTERNAL",
                storage_location=location,
                depends_on=[self.locations[name]],
                **self._stateful(),
            )
            for name, location in (
                (LANDING, self._url(LANDING)),
                (ARTIFACTS, self._url(ARTIFACTS, "wheels")),
            )
        }
        # Files bronze rejects whole, copied there with their reasons (see
        # c2c_etl.config.LakeConfig.dead_letter_path): managed, so in the bronze schema's storage.
        self.volumes[DEAD_LETTER_VOLUME] = Volume(
            self,
            "volume-dead-letter",
            catalog_name=self.catalog.name,
            schema_name=self.schemas[BRONZE].name,
            name=DEAD_LETTER_VOLUME,
            volume_type="MANAGED",
            comment="Landing files bronze rejected whole, each with <name>.reason.json",
            **self._stateful(),
        )

    def _job(self) -> None:
        """The ETL job: one python_wheel_task per entry point, bronze -> silver -> gold.

        It runs as a service principal of its own, whose only rights are the ones the tasks use,
        not as whoever deployed it. Failed runs page the alert address through Azure Monitor
        (the platform stack's log alert on the workspace's job events).
        """
        cfg = self.cfg
        self.runner = ServicePrincipal(
            self,
            "runner-sp",
            display_name=f"c2c-{cfg.env}-etl-runner",
            allow_cluster_create=False,
            databricks_sql_access=False,
            workspace_access=False,
        )
        volumes = f"/Volumes/{cfg.catalog}/{OPS_SCHEMA}"
        # The release passes the wheel it publishes (TF_VAR_etl_wheel, set by `c2c-ops deploy`):
        # every release has its own file in the artifacts volume, so a running job keeps its own.
        wheel = TerraformVariable(
            self,
            "etl_wheel",
            type="string",
            default=wheel_path(cfg.catalog, version("c2c-etl")),
            description="Unity Catalog volume path of the c2c-etl wheel the job tasks install",
        ).string_value
        self.policy = ClusterPolicy(
            self,
            "policy",
            name=f"c2c-{cfg.env}-etl-jobs",
            description="Job clusters of the C2C ETL: pinned runtime, Unity Catalog, bounded size",
            definition=json.dumps(
                {
                    "spark_version": {"type": "fixed", "value": SPARK_VERSION},
                    "data_security_mode": {"type": "fixed", "value": "SINGLE_USER"},
                    "node_type_id": {"type": "allowlist", "values": [cfg.node_type]},
                    "num_workers": {"type": "range", "maxValue": max(cfg.job_workers, 1) * 2},
                    "cluster_type": {"type": "fixed", "value": "job"},
                    "azure_attributes.availability": {
                        "type": "fixed",
                        "value": "ON_DEMAND_AZURE",
                    },
                    "custom_tags.project": {"type": "fixed", "value": "c2c-lakehouse"},
                },
                sort_keys=True,
            ),
        )
        defaults = {
            "env": cfg.env,
            "input": f"{volumes}/{LANDING}",
            "catalog": cfg.catalog,
            "run_id": "{{job.run_id}}",
        }
        named = [parameter_name(flag) for flag in JOB_PARAMETERS]
        arguments = [
            item
            for flag, name in zip(JOB_PARAMETERS, named, strict=True)
            for item in (flag, f"{{{{job.parameters.{name}}}}}")
        ]
        tasks: list[JobTask] = []
        previous: str | None = None
        for entry_point in JOB_TASKS:
            key = entry_point.name.removeprefix("c2c-")
            tasks.append(
                JobTask(
                    task_key=key,
                    description=entry_point.description,
                    job_cluster_key="etl",
                    python_wheel_task={
                        "package_name": WHEEL_PACKAGE,
                        "entry_point": entry_point.name,
                        "parameters": arguments,
                    },
                    library=[JobTaskLibrary(whl=wheel)],
                    depends_on=[JobTaskDependsOn(task_key=previous)] if previous else None,
                    max_retries=TASK_MAX_RETRIES,
                    timeout_seconds=TASK_TIMEOUT_SECONDS,
                )
            )
            previous = key
        self.job = Job(
            self,
            "etl-job",
            name=f"c2c-{cfg.env}-etl",
            description="Landing -> bronze -> silver -> gold (c2c-etl wheel entry points)",
            max_concurrent_runs=1,
            queue={"enabled": True},
            parameter=[JobParameter(name=n, default=defaults[n]) for n in named],
            job_cluster=[
                JobJobCluster(
                    job_cluster_key="etl",
                    new_cluster={
                        "spark_version": SPARK_VERSION,
                        "node_type_id": cfg.node_type,
                        "num_workers": cfg.job_workers,
                        "data_security_mode": "SINGLE_USER",
                        "policy_id": self.policy.id,
                        "apply_policy_default_values": True,
                        "azure_attributes": {"availability": "ON_DEMAND_AZURE"},
                        "custom_tags": {"project": "c2c-lakehouse"},
                    },
                )
            ],
            task=tasks,
            run_as=JobRunAs(service_principal_name=self.runner.application_id),
            tags=cfg.tags,
        )
        TerraformOutput(self, "job_id", value=self.job.id)
        TerraformOutput(self, "job_wheel", value=wheel)
        TerraformOutput(self, "job_url", value=self.job.url)

    def _warehouse(self) -> None:
        """A serverless SQL warehouse for BI that stops when idle."""
        cfg = self.cfg
        self.warehouse = SqlEndpoint(
            self,
            "warehouse",
            name=f"c2c-{cfg.env}-bi",
            cluster_size=cfg.warehouse_size,
            max_num_clusters=cfg.warehouse_max_clusters,
            auto_stop_mins=10,
            enable_serverless_compute=True,
            warehouse_type="PRO",
            depends_on=[self.ncc_binding],
            tags={
                "custom_tags": [
                    SqlEndpointTagsCustomTags(key=k, value=v) for k, v in sorted(cfg.tags.items())
                ]
            },
        )
        TerraformOutput(self, "warehouse_id", value=self.warehouse.id)

    def _dashboard(self) -> None:
        """The AI/BI dashboard on the BI warehouse, its datasets reading this env's catalog.

        Credentials are not embedded: each viewer's own Unity Catalog grants apply."""
        cfg = self.cfg
        self.dashboard = Dashboard(
            self,
            "dashboard",
            display_name=f"{DISPLAY_NAME} ({cfg.env})",
            parent_path=f"{DASHBOARD_FOLDER}/{cfg.env}",
            warehouse_id=self.warehouse.id,
            serialized_dashboard=serialized_dashboard(cfg.catalog),
            embed_credentials=False,
            depends_on=[self.ncc_binding],
        )
        TerraformOutput(self, "dashboard_id", value=self.dashboard.id)

    def _permissions(self) -> None:
        """Who may do what, per environment.

        Everywhere: analysts read gold and use the warehouse and the dashboard; Data Factory may
        only run the job and see the catalog's metadata (whether gold exists yet); the run
        identity reads landing and the wheel and writes the layers; nobody but the deploying
        identity (the owner of what it creates) writes the artifacts volume, so only a release
        can replace the wheel the job runs. In dev and test engineers
        build: they write the layers and manage the job, warehouse and dashboard. In the protected
        environment they only read and view.
        """
        cfg = self.cfg
        builds = not cfg.protected
        engineers, analysts = cfg.engineers_group, cfg.analysts_group
        runner = self.runner.application_id
        adf_client_id = TerraformVariable(
            self,
            "adf_client_id",
            type="string",
            description=(
                "Application (client) ID of the Data Factory's managed identity "
                "(az ad sp show --id <data_factory_principal_id> --query appId)"
            ),
        )
        factory = ServicePrincipal(
            self,
            "factory-sp",
            application_id=adf_client_id.string_value,
            display_name=f"{cfg.name('adf')} (managed identity)",
            allow_cluster_create=False,
            databricks_sql_access=False,
            workspace_access=False,
        )
        if builds:
            Grants(
                self,
                "grants-credential",
                storage_credential=self.credential.id,
                grant=[grant(engineers, "CREATE_EXTERNAL_LOCATION")],
            )
        for container, location in self.locations.items():
            # Files of the catalog root are reached through tables only; landing and the
            # artifacts are read here and written by Data Factory and the release alone.
            if container == CATALOG_ROOT:
                continue
            read_only = container in (LANDING, ARTIFACTS) or not builds
            privileges = ["READ_FILES"] if read_only else ["READ_FILES", "WRITE_FILES"]
            Grants(
                self,
                f"grants-location-{container}",
                external_location=location.id,
                grant=[grant(engineers, *privileges)],
            )
        Grants(
            self,
            "grants-catalog",
            catalog=self.catalog.name,
            grant=[
                grant(engineers, "USE_CATALOG"),
                grant(analysts, "USE_CATALOG"),
                grant(runner, "USE_CATALOG"),
                # Data Factory asks Unity Catalog whether gold's first view exists before it
                # refreshes Power BI. BROWSE is enough for that call and reads no data: no
                # USE_CATALOG, USE_SCHEMA or SELECT, which would let the identity query gold.
                grant(factory.application_id, "BROWSE"),
            ],
            depends_on=list(self.groups.values()),
        )
        tables = ("SELECT", "MODIFY", "CREATE_TABLE")
        for name, schema in self.schemas.items():
            if name == OPS_SCHEMA:  # the landing and artifacts volumes: read only
                grants = [
                    grant(engineers, "USE_SCHEMA", "READ_VOLUME"),
                    grant(runner, "USE_SCHEMA", "READ_VOLUME"),
                ]
            else:
                # bronze also holds the dead-letter volume the job writes
                volumes = ("READ_VOLUME", "WRITE_VOLUME") if name == BRONZE else ()
                reads = ("SELECT", "READ_VOLUME") if name == BRONZE else ("SELECT",)
                grants = [
                    grant(engineers, "USE_SCHEMA", *(tables + volumes if builds else reads)),
                    grant(runner, "USE_SCHEMA", *tables, *volumes),
                ]
                if name == "gold":
                    grants.append(grant(analysts, "USE_SCHEMA", "SELECT"))
            Grants(self, f"grants-schema-{name}", schema=schema.id, grant=grants)
        Permissions(
            self,
            "permissions-job",
            job_id=self.job.id,
            access_control=[
                PermissionsAccessControl(
                    group_name=engineers,
                    permission_level="CAN_MANAGE_RUN" if builds else "CAN_VIEW",
                ),
                PermissionsAccessControl(
                    service_principal_name=factory.application_id,
                    permission_level="CAN_MANAGE_RUN",
                ),
            ],
        )
        policy_users = [
            PermissionsAccessControl(service_principal_name=runner, permission_level="CAN_USE")
        ]
        if builds:
            policy_users.append(
                PermissionsAccessControl(group_name=engineers, permission_level="CAN_USE")
            )
        Permissions(
            self,
            "permissions-policy",
            cluster_policy_id=self.policy.id,
            access_control=policy_users,
        )
        Permissions(
            self,
            "permissions-dashboard",
            dashboard_id=self.dashboard.id,
            access_control=[
                PermissionsAccessControl(group_name=analysts, permission_level="CAN_RUN"),
                PermissionsAccessControl(
                    group_name=engineers, permission_level="CAN_MANAGE" if builds else "CAN_RUN"
                ),
            ],
        )
        Permissions(
            self,
            "permissions-warehouse",
            sql_endpoint_id=self.warehouse.id,
            access_control=[
                PermissionsAccessControl(group_name=analysts, permission_level="CAN_USE"),
                PermissionsAccessControl(
                    group_name=engineers, permission_level="CAN_MANAGE" if builds else "CAN_USE"
                ),
            ],
        )


def grant(principal: str, *privileges: str) -> GrantsGrant:
    """One Unity Catalog grant block."""
    return GrantsGrant(principal=principal, privileges=list(privileges))
