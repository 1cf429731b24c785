"""The factory's objects, built with the azure-mgmt-datafactory models from an :class:`AdfConfig`.

Names follow the usual prefixes: ``LS_`` linked services, ``DS_`` datasets, ``PL_`` pipelines,
``TR_`` triggers; activities are prefixed by their kind (``GM_``, ``FL_``, ``FE_``, ``CP_``, ...).
The Databricks job's parameter names are derived from ``c2c_etl.entrypoints.COMMON_PARAMETERS``
exactly as ``c2c_infra.workspace`` derives them (a contract test checks both agree).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from azure.mgmt.datafactory import models as m

from c2c_adf.config import FACTORY_KEY_VAULT_LINKED_SERVICE, FACTORY_RUNTIME_NAME, AdfConfig
from c2c_etl.entrypoints import COMMON_PARAMETERS
from c2c_etl.tables import GOLD
from c2c_reporting.powerbi import PROJECT as POWERBI_MODEL
from c2c_reporting.refresh import FIRST_VIEW

LS_KEY_VAULT = FACTORY_KEY_VAULT_LINKED_SERVICE
LS_LAKE = "LS_Lake"
LS_SOURCE = "LS_Source"
LS_DATABRICKS = "LS_Databricks"

DS_SOURCE_FOLDER = "DS_Source_Folder"
DS_LANDING_FOLDER = "DS_Landing_Folder"

PL_INGEST = "PL_Ingest"
PL_TRANSFORM = "PL_Transform"
PL_ORCHESTRATE = "PL_Orchestrate"
PL_REFRESH_MODEL = "PL_RefreshModel"

TR_DAILY = "TR_Daily"
TR_LANDING_DROPS = "TR_LandingDrops"

# Copies of each delivery go to landing/runs/<run id>/; partners may drop files in drops/.
RUNS_FOLDER = "runs"
# PL_Orchestrate's landing folder is runs/<landingRunId>, or runs/<its own run id> when empty:
# a rerun of a failed run passes the failed run's id, so it reads the files that run ingested.
LANDING_RUN_PARAMETER = "landingRunId"
DROPS_FOLDER = "drops"
COPY_LOG_PATH = "landing/_logs/copy"
# The cloud jobs address tables through Unity Catalog, so `--lake` is not a job parameter.
JOB_FLAGS = tuple(p for p in COMMON_PARAMETERS if p != "--lake")
# A job cluster's start, once per attempt of a task at most.
CLUSTER_START_SECONDS = 20 * 60
# The Power BI REST API, and the resource the factory's managed identity gets a token for.
POWER_BI_API = "https://api.powerbi.com/v1.0/myorg"
POWER_BI_RESOURCE = "https://analysis.windows.net/powerbi/api"
WORKSPACE_PARAMETER = "workspaceId"
# The Azure Databricks application: the resource the factory's identity gets a token for to call
# the workspace's REST API (the same identity the Databricks linked service signs in with).
DATABRICKS_RESOURCE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"


def job_parameter(flag: str) -> str:
    """The Databricks job parameter behind a command-line flag: ``--run-id`` -> ``run_id``."""
    return flag.removeprefix("--").replace("-", "_")


@dataclass(frozen=True)
class Factory:
    """Every object of the factory, by kind and name (insertion order is deployment order)."""

    linked_services: dict[str, m.LinkedServiceResource] = field(default_factory=dict)
    datasets: dict[str, m.DatasetResource] = field(default_factory=dict)
    pipelines: dict[str, m.PipelineResource] = field(default_factory=dict)
    triggers: dict[str, m.TriggerResource] = field(default_factory=dict)

    def kinds(self) -> dict[str, dict[str, Any]]:
        """The objects by ADF git folder name, in dependency order."""
        return {
            "linkedService": self.linked_services,
            "dataset": self.datasets,
            "pipeline": self.pipelines,
            "trigger": self.triggers,
        }


def expr(value: str) -> dict[str, str]:
    """A typed ADF expression value (``{"value": "@...", "type": "Expression"}``)."""
    return {"value": value, "type": "Expression"}


def ls_ref(name: str, **parameters: Any) -> m.LinkedServiceReference:
    return m.LinkedServiceReference(
        type="LinkedServiceReference", reference_name=name, parameters=parameters or None
    )


def ds_ref(name: str, **parameters: Any) -> m.DatasetReference:
    return m.DatasetReference(
        type="DatasetReference", reference_name=name, parameters=parameters or None
    )


def pl_ref(name: str) -> m.PipelineReference:
    return m.PipelineReference(type="PipelineReference", reference_name=name)


def runtime() -> m.IntegrationRuntimeReference:
    """The managed-VNet Azure integration runtime that infra creates."""
    return m.IntegrationRuntimeReference(
        type="IntegrationRuntimeReference", reference_name=FACTORY_RUNTIME_NAME
    )


def policy(cfg: AdfConfig) -> m.ActivityPolicy:
    """Retries and a timeout for a copy or a listing."""
    return m.ActivityPolicy(
        timeout=cfg.activity_timeout,
        retry=cfg.activity_retries,
        retry_interval_in_seconds=cfg.retry_interval_seconds,
        secure_input=False,
        secure_output=False,
    )


def web_policy(cfg: AdfConfig, *, secret: bool) -> m.ActivityPolicy:
    """A web activity's policy. ``secret``: its input or output carries a secret (the failure
    notification's webhook URL, from Key Vault), so run monitoring shows neither. A Power BI
    call or the gold check holds none (ADF adds the identity's token itself): monitoring shows
    the request and the service's answer."""
    return m.ActivityPolicy(
        timeout=cfg.web_timeout,
        retry=cfg.activity_retries,
        retry_interval_in_seconds=30,
        secure_input=secret,
        secure_output=secret,
    )


def timespan(seconds: int) -> str:
    """ADF's ``d.hh:mm:ss`` for a number of seconds."""
    days, rest = divmod(seconds, 86400)
    return f"{days}.{timedelta(seconds=rest)!s:0>8}"


def job_timeout(cfg: AdfConfig) -> str:
    """The job activity's timeout: the job's longest run (every task running out its timeout
    on every try, each try on a new cluster) for this run and each run it may queue behind."""
    from c2c_etl.entrypoints import JOB_TASKS
    from c2c_settings.config import TASK_MAX_RETRIES, TASK_TIMEOUT_SECONDS

    tries = TASK_MAX_RETRIES + 1
    longest_run = len(JOB_TASKS) * tries * (TASK_TIMEOUT_SECONDS + CLUSTER_START_SECONDS)
    return timespan(longest_run * (1 + cfg.job_runs_ahead))


def job_policy(cfg: AdfConfig) -> m.ActivityPolicy:
    """No retry: the job retries its own tasks, and a retry here would start a second job run
    while the first one may still be going."""
    return m.ActivityPolicy(
        timeout=job_timeout(cfg), retry=0, secure_input=False, secure_output=False
    )


def after(activity: str, *conditions: str) -> m.ActivityDependency:
    return m.ActivityDependency(activity=activity, dependency_conditions=list(conditions))


# -- linked services ---------------------------------------------------------------------------


def window_parameters() -> dict[str, m.ParameterSpecification]:
    """The modification-time window of the source files to copy (default: everything)."""
    return {
        "windowStart": m.ParameterSpecification(
            type="String", default_value="1970-01-01T00:00:00Z"
        ),
        "windowEnd": m.ParameterSpecification(type="String", default_value="9999-12-31T23:59:59Z"),
    }


def linked_services(cfg: AdfConfig) -> dict[str, m.LinkedServiceResource]:
    """Key Vault, the lake (ADLS Gen2), the source Blob account and Databricks, all through the
    factory's managed identity: no keys, tokens or connection strings anywhere."""
    return {
        LS_KEY_VAULT: m.LinkedServiceResource(
            properties=m.AzureKeyVaultLinkedService(
                base_url=cfg.key_vault_url,
                description="Secrets of the source systems, read with the factory's identity",
                connect_via=runtime(),
            )
        ),
        LS_LAKE: m.LinkedServiceResource(
            properties=m.AzureBlobFSLinkedService(
                url=cfg.lake_url,
                description="The lake (ADLS Gen2) through the factory's managed identity",
                connect_via=runtime(),
            )
        ),
        LS_SOURCE: m.LinkedServiceResource(
            properties=m.AzureBlobStorageLinkedService(
                service_endpoint=cfg.source_blob_endpoint,
                account_kind="StorageV2",
                description="The partner export of the source CSVs (managed identity)",
                connect_via=runtime(),
            )
        ),
        LS_DATABRICKS: m.LinkedServiceResource(
            properties=m.AzureDatabricksLinkedService(
                domain=cfg.workspace_url,
                authentication="MSI",
                workspace_resource_id=cfg.workspace_resource_id,
                description="The Databricks workspace; the job runs as the factory's identity",
                connect_via=runtime(),
            )
        ),
    }


# -- datasets ----------------------------------------------------------------------------------


def _files(linked_service: str, location: m.DatasetLocation, description: str) -> m.DatasetResource:
    """A folder's files as bytes: Data Factory copies them as they are, whatever their name or
    format, and bronze decides what each one is (and says why it cannot read one)."""
    return m.DatasetResource(
        properties=m.BinaryDataset(
            linked_service_name=ls_ref(linked_service),
            location=location,
            parameters={"folderPath": m.ParameterSpecification(type="String")},
            description=description,
        )
    )


def datasets(cfg: AdfConfig) -> dict[str, m.DatasetResource]:
    """Parameterised binary datasets: a folder of the source export, a folder in landing."""
    return {
        DS_SOURCE_FOLDER: _files(
            LS_SOURCE,
            m.AzureBlobStorageLocation(
                container=cfg.source_container, folder_path=expr("@dataset().folderPath")
            ),
            "A folder of the partner export, copied whole by PL_Ingest",
        ),
        DS_LANDING_FOLDER: _files(
            LS_LAKE,
            m.AzureBlobFSLocation(file_system="landing", folder_path=expr("@dataset().folderPath")),
            "A folder in the lake's landing container",
        ),
    }


# -- pipelines ---------------------------------------------------------------------------------


def ingest(cfg: AdfConfig) -> m.PipelineResource:
    """Copy every file of the source folder changed in the window, at any depth and of any
    name, byte for byte into landing/runs/<run id>/, keeping the folder structure.

    No file is filtered out here: a filter would drop a ``.csv.gz``, a CSV named ``.txt`` or a
    subfolder without a trace. Bronze lists every landed file and ingests, rejects (with the
    reason) or skips (with why) each one, in the ingestion log and the run's summary.
    """
    copy = m.CopyActivity(
        name="CP_SourceToLanding",
        description="Copy the source folder's files changed in the window, as they are",
        inputs=[ds_ref(DS_SOURCE_FOLDER, folderPath=cfg.source_folder)],
        outputs=[
            ds_ref(
                DS_LANDING_FOLDER,
                folderPath=f"@concat('{RUNS_FOLDER}/', pipeline().parameters.runId)",
            )
        ],
        source=m.BinarySource(
            store_settings=m.AzureBlobStorageReadSettings(
                recursive=True,
                modified_datetime_start=expr("@pipeline().parameters.windowStart"),
                modified_datetime_end=expr("@pipeline().parameters.windowEnd"),
            ),
        ),
        sink=m.BinarySink(
            store_settings=m.AzureBlobFSWriteSettings(copy_behavior="PreserveHierarchy")
        ),
        log_settings=m.LogSettings(
            enable_copy_activity_log=True,
            copy_activity_log_settings=m.CopyActivityLogSettings(
                log_level="Warning", enable_reliable_logging=True
            ),
            log_location_settings=m.LogLocationSettings(
                linked_service_name=ls_ref(LS_LAKE), path=COPY_LOG_PATH
            ),
        ),
        validate_data_consistency=True,
        policy=policy(cfg),
    )
    return m.PipelineResource(
        description="Copy the source files changed in the window into landing/runs/<run id>/",
        parameters={
            "runId": m.ParameterSpecification(type="String"),
            **window_parameters(),
        },
        activities=[copy],
        annotations=["c2c-lakehouse"],
    )


def transform(cfg: AdfConfig) -> m.PipelineResource:
    """Run the ETL job that infra defines on one landing folder (bronze, silver, gold)."""
    run_id = (
        "@if(empty(pipeline().parameters.runId), pipeline().RunId, pipeline().parameters.runId)"
    )
    values = {
        "--env": cfg.env,
        "--input": f"@concat('{cfg.landing_volume}/', pipeline().parameters.inputFolder)",
        "--catalog": cfg.catalog,
        "--run-id": run_id,
    }
    return m.PipelineResource(
        description="Landing folder -> bronze -> silver -> gold (the Databricks ETL job)",
        parameters={
            "inputFolder": m.ParameterSpecification(type="String"),
            "runId": m.ParameterSpecification(type="String", default_value=""),
        },
        activities=[
            m.DatabricksJobActivity(
                name="DBJ_RunEtl",
                description="The c2c-<env>-etl job: python_wheel_tasks c2c-bronze/silver/gold",
                linked_service_name=ls_ref(LS_DATABRICKS),
                job_id=cfg.job_id,
                job_parameters={job_parameter(flag): values[flag] for flag in JOB_FLAGS},
                user_properties=[m.UserProperty(name="job", value=cfg.job_name)],
                policy=job_policy(cfg),
            )
        ],
        annotations=["c2c-lakehouse"],
    )


def gold_view(cfg: AdfConfig) -> str:
    """The full name of gold's first view: it exists once gold has been built."""
    return f"{cfg.catalog}.{GOLD}.{FIRST_VIEW}"


def powerbi_call(name: str, method: str, url: str, **kwargs: Any) -> m.WebActivity:
    """A Power BI REST call signed in as the factory's managed identity.

    No ``connectVia``: it runs on the default Azure integration runtime. api.powerbi.com is a
    public SaaS endpoint that the managed VNet has no private endpoint to, and the call carries
    no lake data, only the identity's token, which ADF adds itself.
    """
    return m.WebActivity(
        name=name,
        method=method,
        url=expr(url),
        authentication=m.WebActivityAuthentication(type="MSI", resource=POWER_BI_RESOURCE),
        **kwargs,
    )


def refresh_model(cfg: AdfConfig) -> m.PipelineResource:
    """Refresh the Power BI model: find it by name in the environment's Fabric workspace, queue
    a refresh, then follow it in the model's refresh history until it ends; fail unless it
    completed, so a refresh that fails inside Power BI is notified like a failed transform."""
    group = f"concat('{POWER_BI_API}/groups/', pipeline().parameters.{WORKSPACE_PARAMETER}"
    found = "activity('FLT_Model').output.value"
    model = f"{group}, '/datasets/', {found}[0].id"
    # The refresh just queued is the newest entry of the history (Power BI lists it at once,
    # with the status Unknown while it runs). Its status and error are kept in variables: what
    # follows the loop reads them there, not from an activity inside the loop.
    latest = "activity('WEB_RefreshStatus').output.value[0]"
    return m.PipelineResource(
        description=f"Refresh the Power BI model {POWERBI_MODEL} from gold and wait for it",
        parameters={
            WORKSPACE_PARAMETER: m.ParameterSpecification(
                type="String", default_value=cfg.fabric_workspace_id
            ),
        },
        variables={
            "refreshStatus": m.VariableSpecification(type="String", default_value="Unknown"),
            "refreshError": m.VariableSpecification(type="String", default_value=""),
        },
        activities=[
            powerbi_call(
                "WEB_ListModels",
                "GET",
                f"@{group}, '/datasets')",
                description="The semantic models of the environment's Fabric workspace",
                policy=web_policy(cfg, secret=False),
            ),
            m.FilterActivity(
                name="FLT_Model",
                description=f"The models named {POWERBI_MODEL}",
                depends_on=[after("WEB_ListModels", "Succeeded")],
                items=m.Expression(
                    type="Expression", value="@activity('WEB_ListModels').output.value"
                ),
                condition=m.Expression(
                    type="Expression", value=f"@equals(item().name, '{POWERBI_MODEL}')"
                ),
            ),
            # Gold was built but the report would show the old data: say so and fail, so the
            # failure is notified, rather than succeed as if it were refreshed.
            m.IfConditionActivity(
                name="IF_OneModel",
                description="Go on when exactly one model has the name; fail otherwise",
                depends_on=[after("FLT_Model", "Succeeded")],
                expression=m.Expression(type="Expression", value=f"@equals(length({found}), 1)"),
                if_false_activities=[
                    m.FailActivity(
                        name="FAIL_ModelNotFound",
                        description="No model, or more than one, has the name",
                        message=expr(
                            f"@concat(string(length({found})), ' semantic models named "
                            f"{POWERBI_MODEL} in Fabric workspace ', "
                            f"pipeline().parameters.{WORKSPACE_PARAMETER}, ' (expected 1): "
                            "gold is up to date but Power BI was not refreshed. Publish the "
                            "model (the deploy workflow, c2c_reporting.fabric), then run "
                            f"{PL_REFRESH_MODEL}')"
                        ),
                        error_code="C2C_POWERBI_MODEL_NOT_FOUND",
                    )
                ],
            ),
            powerbi_call(
                "WEB_RefreshModel",
                "POST",
                f"@{model}, '/refreshes')",
                description="Queue the refresh (Power BI answers 202 and refreshes)",
                depends_on=[after("IF_OneModel", "Succeeded")],
                headers={"Content-Type": "application/json"},
                body={"notifyOption": "NoNotification"},
                # The 202's Location is not polled here: the history below is, with this
                # identity's token on every call.
                turn_off_async=True,
                # Retried: an error answer queued nothing. Only a lost answer to a queued
                # refresh makes a retry meet that refresh, which Power BI refuses; the failure
                # is then notified while the refresh runs.
                policy=web_policy(cfg, secret=False),
            ),
            m.UntilActivity(
                name="UNTIL_RefreshEnds",
                description="Read the model's newest refresh until it is no longer running",
                depends_on=[after("WEB_RefreshModel", "Succeeded")],
                expression=m.Expression(
                    type="Expression", value="@not(equals(variables('refreshStatus'), 'Unknown'))"
                ),
                timeout=cfg.refresh_timeout,
                activities=[
                    m.WaitActivity(
                        name="WAIT_Refreshing", wait_time_in_seconds=cfg.refresh_poll_seconds
                    ),
                    powerbi_call(
                        "WEB_RefreshStatus",
                        "GET",
                        f"@{model}, '/refreshes?$top=1')",
                        description="The model's newest refresh",
                        depends_on=[after("WAIT_Refreshing", "Succeeded")],
                        policy=web_policy(cfg, secret=False),
                    ),
                    m.SetVariableActivity(
                        name="SET_RefreshStatus",
                        depends_on=[after("WEB_RefreshStatus", "Succeeded")],
                        variable_name="refreshStatus",
                        value=f"@{latest}.status",
                    ),
                    m.SetVariableActivity(
                        name="SET_RefreshError",
                        depends_on=[after("SET_RefreshStatus", "Succeeded")],
                        variable_name="refreshError",
                        # Only a refresh that failed has an error: ?. reads a missing one as null.
                        value=f"@coalesce({latest}?.serviceExceptionJson, '')",
                    ),
                ],
            ),
            m.IfConditionActivity(
                name="IF_RefreshCompleted",
                description="Fail unless the refresh completed",
                depends_on=[after("UNTIL_RefreshEnds", "Succeeded")],
                expression=m.Expression(
                    type="Expression", value="@equals(variables('refreshStatus'), 'Completed')"
                ),
                if_false_activities=[
                    m.FailActivity(
                        name="FAIL_RefreshFailed",
                        description="The refresh ended without completing",
                        message=expr(
                            f"@concat('The refresh of {POWERBI_MODEL} ended ', "
                            "variables('refreshStatus'), ': ', variables('refreshError'), "
                            "'. Gold is up to date; Power BI shows the previous data. Fix the "
                            f"cause, then run {PL_REFRESH_MODEL}')"
                        ),
                        error_code="C2C_POWERBI_REFRESH_FAILED",
                    )
                ],
            ),
        ],
        annotations=["c2c-lakehouse"],
    )


def orchestrate(cfg: AdfConfig) -> m.PipelineResource:
    """Ingest, transform, then refresh the Power BI model where the environment has one; if any
    of them fails, post to the webhook from Key Vault and fail."""
    refresh = cfg.refreshes_powerbi
    secret_url = f"{cfg.key_vault_url}secrets/{cfg.webhook_secret_name}?api-version=7.4"
    landing = (
        f"if(empty(pipeline().parameters.{LANDING_RUN_PARAMETER}), pipeline().RunId, "
        f"pipeline().parameters.{LANDING_RUN_PARAMETER})"
    )
    gold_exists = "activity('WEB_GoldExists').output.table_exists"
    refresh_activities = [
        # Only after gold was built by this run: never on the data of a failed run. A transform
        # can succeed without building gold (an environment's first delivery with nothing
        # usable), and the model's views are then missing: Unity Catalog says whether gold's
        # first view exists, and only then is the model refreshed.
        m.WebActivity(
            name="WEB_GoldExists",
            description=f"Whether gold's first view {gold_view(cfg)} exists (Unity Catalog)",
            depends_on=[after("EP_Transform", "Succeeded")],
            method="GET",
            url=f"{cfg.workspace_url}/api/2.1/unity-catalog/tables/{gold_view(cfg)}/exists",
            authentication=m.WebActivityAuthentication(type="MSI", resource=DATABRICKS_RESOURCE),
            # The workspace is reached the way the job activity reaches it: the managed-VNet
            # runtime, signed in as the factory's identity (which has BROWSE on the catalog).
            connect_via=runtime(),
            policy=web_policy(cfg, secret=False),
        ),
        # An IfCondition may hold an ExecutePipeline but no Until or IfCondition, which the
        # refresh pipeline has: so the branch runs that pipeline rather than its activities.
        m.IfConditionActivity(
            name="IF_GoldBuilt",
            description="Refresh the model once gold exists; before the first gold, succeed",
            depends_on=[after("WEB_GoldExists", "Succeeded")],
            expression=m.Expression(type="Expression", value=f"@equals({gold_exists}, true)"),
            if_true_activities=[
                m.ExecutePipelineActivity(
                    name="EP_RefreshModel",
                    description=f"Refresh the Power BI model {POWERBI_MODEL} from gold",
                    pipeline=pl_ref(PL_REFRESH_MODEL),
                    wait_on_completion=True,
                )
            ],
            # Named so that run monitoring says why nothing was refreshed.
            if_false_activities=[
                m.WaitActivity(
                    name="WAIT_NoGoldYet_NoRefresh",
                    description=(
                        f"{gold_view(cfg)} does not exist: gold has never been built, so the "
                        "model has nothing to read and is not refreshed"
                    ),
                    wait_time_in_seconds=1,
                )
            ],
        ),
    ]
    # The last step's Skipped covers every earlier failure (ingest failed: transform and refresh
    # are Skipped), so this one dependency is the catch of the whole chain.
    last = "IF_GoldBuilt" if refresh else "EP_Transform"
    failed = (
        f"{PL_INGEST}, {PL_TRANSFORM}, the gold check or {PL_REFRESH_MODEL}"
        if refresh
        else (f"{PL_INGEST} or {PL_TRANSFORM}")
    )
    return m.PipelineResource(
        description="The daily run: ingest, transform, refresh Power BI, notify on failure"
        if refresh
        else "The daily run: ingest, transform, notify on failure",
        parameters={
            **window_parameters(),
            LANDING_RUN_PARAMETER: m.ParameterSpecification(type="String", default_value=""),
        },
        activities=[
            m.ExecutePipelineActivity(
                name="EP_Ingest",
                pipeline=pl_ref(PL_INGEST),
                wait_on_completion=True,
                parameters={
                    "runId": f"@{landing}",
                    "windowStart": "@pipeline().parameters.windowStart",
                    "windowEnd": "@pipeline().parameters.windowEnd",
                },
            ),
            m.ExecutePipelineActivity(
                name="EP_Transform",
                depends_on=[after("EP_Ingest", "Succeeded")],
                pipeline=pl_ref(PL_TRANSFORM),
                wait_on_completion=True,
                parameters={
                    "inputFolder": f"@concat('{RUNS_FOLDER}/', {landing})",
                    "runId": "@pipeline().RunId",
                },
            ),
            *(refresh_activities if refresh else []),
            m.WebActivity(
                name="WEB_GetWebhookUrl",
                description="Read the notification webhook URL from Key Vault",
                depends_on=[after(last, "Failed", "Skipped")],
                method="GET",
                url=secret_url,
                authentication=m.WebActivityAuthentication(
                    type="MSI", resource="https://vault.azure.net"
                ),
                # The managed-VNet runtime reaches the vault over its private endpoint.
                connect_via=runtime(),
                policy=web_policy(cfg, secret=True),
            ),
            m.WebActivity(
                name="WEB_NotifyFailure",
                description="Post the failed run to the team's webhook",
                depends_on=[after("WEB_GetWebhookUrl", "Succeeded")],
                method="POST",
                url=expr("@activity('WEB_GetWebhookUrl').output.value"),
                headers={"Content-Type": "application/json"},
                body=expr(
                    "@concat('{\"text\": \"', pipeline().Pipeline, ' run ', pipeline().RunId, "
                    "' failed in ', pipeline().DataFactory, '\"}')"
                ),
                connect_via=runtime(),
                policy=web_policy(cfg, secret=True),
            ),
            m.FailActivity(
                name="FAIL_Run",
                description="Keep the run failed after the notification",
                depends_on=[after("WEB_NotifyFailure", "Completed")],
                message=f"@concat('{failed} failed in run ', pipeline().RunId)",
                error_code="C2C_PIPELINE_FAILED",
            ),
        ],
        annotations=["c2c-lakehouse"],
    )


def pipelines(cfg: AdfConfig) -> dict[str, m.PipelineResource]:
    built = {PL_INGEST: ingest(cfg), PL_TRANSFORM: transform(cfg)}
    if cfg.refreshes_powerbi:
        built[PL_REFRESH_MODEL] = refresh_model(cfg)
    return {**built, PL_ORCHESTRATE: orchestrate(cfg)}


# -- triggers ----------------------------------------------------------------------------------


def triggers(cfg: AdfConfig) -> dict[str, m.TriggerResource]:
    """A daily run of the orchestrator, and a transform run for each file dropped in landing."""
    # A tumbling window keeps the state of every window: one that did not run (the trigger was
    # stopped, a deploy was going on) runs once the trigger is started again, and a failed one
    # is retried, then can be rerun by hand from monitoring.
    daily = m.TumblingWindowTrigger(
        description="Every day: the files of the previous 24 hours; missed windows are run later",
        frequency="Hour",
        interval=24,
        start_time=cfg.schedule_start,
        # The job runs one at a time; windows that catch up run in order.
        max_concurrency=1,
        retry_policy=m.RetryPolicy(count=1, interval_in_seconds=1800),
        pipeline=m.TriggerPipelineReference(
            pipeline_reference=pl_ref(PL_ORCHESTRATE),
            parameters={
                "windowStart": "@trigger().outputs.windowStartTime",
                "windowEnd": "@trigger().outputs.windowEndTime",
            },
        ),
    )
    # Any file, whatever its name: bronze decides from its bytes what it is (a .csv.gz is
    # ingested, a file that is not data is logged as skipped with why), so a filter on the name
    # would leave some deliveries waiting in silence for the next daily run.
    drops = m.BlobEventsTrigger(
        description="A file dropped in landing/drops/ runs the transform on its folder",
        events=["Microsoft.Storage.BlobCreated"],
        scope=cfg.storage_account_id,
        blob_path_begins_with=f"/landing/blobs/{DROPS_FOLDER}/",
        ignore_empty_blobs=True,
        pipelines=[
            m.TriggerPipelineReference(
                pipeline_reference=pl_ref(PL_TRANSFORM),
                parameters={
                    # folderPath is "landing/drops/...": the volume already is the container.
                    "inputFolder": "@substring(triggerBody().folderPath, 8, "
                    "sub(length(triggerBody().folderPath), 8))",
                },
            )
        ],
    )
    return {
        TR_DAILY: m.TriggerResource(properties=daily),
        TR_LANDING_DROPS: m.TriggerResource(properties=drops),
    }


def build_factory(cfg: AdfConfig) -> Factory:
    """Every object of the factory for one environment."""
    return Factory(
        linked_services=linked_services(cfg),
        datasets=datasets(cfg),
        pipelines=pipelines(cfg),
        triggers=triggers(cfg),
    )
