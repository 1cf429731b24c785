"""The local HTML dashboard: one self-contained file from the gold tables, readable offline.

``make run`` writes ``<LAKE>/reports/dashboard.html`` after the pipeline. Charts are Plotly
figures with plotly.js inlined once (no CDN, no network), so the file can be mailed or opened on
a machine with no access to anything. :func:`collect_dashboard_data` reads the lake (I/O, through
the BI views and ``c2c_etl.io``); :func:`render_dashboard` turns that data into HTML (pure).
"""

from __future__ import annotations

import argparse
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from c2c_etl import io, tables
from c2c_etl.config import LakeConfig, local_config
from c2c_etl.gold.views import MIN_USERS_PER_FIGURE, VIEWS_BY_NAME

DASHBOARD_PATH = Path("reports") / "dashboard.html"
TOP_COUNTRIES = 15
TOP_APP_COUNTRIES = 20  # more bars than this no longer fit their labels
PALETTE = {"users": "#94a3b8", "buyers": "#2563eb", "sellers": "#f59e0b", "accent": "#0f766e"}
RELEASE_COLORS = {"2020": "#2563eb", "2024": "#f59e0b"}
# The three groups of app users: each user with an app is in exactly one, so they stack.
APP_PLATFORMS = (
    ("iOS only", "#6366f1"),
    ("Android only", "#22c55e"),
    ("iOS and Android", "#0f766e"),
)

Rows = list[dict[str, Any]]


@dataclass
class DashboardData:
    """Everything the dashboard shows, as plain Python values."""

    kpis: dict[str, Any]
    countries: Rows
    funnel: Rows
    app_adoption: Rows
    cohorts: Rows
    quarantine_by_rule: dict[str, int]
    flags_by_rule: dict[str, int]
    reconciliation: Rows
    audit: Rows
    table_versions: Rows
    last_run: str | None
    generated_at: str = field(default_factory=lambda: f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


# -- reading the lake (I/O) ---------------------------------------------------------------------


def _rows(df: Any) -> Rows:
    return [r.asDict() for r in df.collect()]


def _count_by_rule(df: Any, column: str) -> dict[str, int]:
    if df is None:
        return {}
    counts = df.select(F.explode(column).alias("rule")).groupBy("rule").count().collect()
    return {r["rule"]: r["count"] for r in sorted(counts, key=lambda r: -r["count"])}


def collect_dashboard_data(spark: SparkSession, cfg: LakeConfig) -> DashboardData:
    """Read what the dashboard shows from the gold BI views, silver's quarantine and audit, and
    the Delta logs (versions and commit times)."""
    io.create_views(spark, cfg)

    def view(name: str) -> Any:
        return spark.table(io.view_name(cfg, VIEWS_BY_NAME[name]))

    kpis = (
        view("bi_fact_user")
        .agg(
            F.count(F.lit(1)).alias("users"),
            F.count_if("is_buyer").alias("buyers"),
            F.count_if("is_seller").alias("sellers"),
            F.count_if("is_top_seller").alias("top_sellers"),
            F.count_if("has_any_app").alias("app_users"),
            F.count_if(F.col("has_any_app").isNotNull()).alias("app_known"),
            F.count_if("is_active").alias("active"),
            F.count_if(F.col("is_active").isNotNull()).alias("login_known"),
        )
        .first()
    )
    # Row accounting and quarantine from the views analysts read in the cloud (bi_data_quality,
    # bi_quarantine_by_rule), so this page and theirs show the same figures.
    audit_rows = _rows(view("bi_data_quality").orderBy("step"))
    last_run = None
    audit = io.read_or_none(spark, cfg, tables.RUN_AUDIT)
    if audit is not None:
        finished = audit.agg(F.max("finished_at")).first()
        last_run = f"{finished[0]:%Y-%m-%d %H:%M:%S} UTC" if finished and finished[0] else None
    versions: Rows = []
    # The tables gold is made of: its stored tables, and silver users, which the user fact (a
    # view, with no versions of its own) shows as it is.
    for table in (tables.SILVER_USERS, *tables.STORED_GOLD_TABLES):
        for last in io.history(spark, cfg, table, limit=1):
            versions.append(
                {
                    "table": str(table),
                    "version": last["version"],
                    "written": f"{last['timestamp']:%Y-%m-%d %H:%M:%S}",
                }
            )
    return DashboardData(
        kpis=kpis.asDict() if kpis else {},
        countries=_rows(view("bi_country_kpis").orderBy(F.desc("users")).limit(TOP_COUNTRIES)),
        funnel=_rows(view("bi_engagement_funnel").orderBy("release", "stage_order")),
        app_adoption=_rows(
            view("bi_app_adoption")
            .filter(F.col("meets_minimum_users"))
            .orderBy(F.desc("app_adoption_pct"), "country_code")
            .limit(TOP_APP_COUNTRIES)
        ),
        cohorts=_rows(view("bi_seniority_cohorts").orderBy("release", "seniority_days")),
        quarantine_by_rule={
            r["rule"]: r["rows_quarantined"]
            for r in view("bi_quarantine_by_rule").orderBy(F.desc("rows_quarantined")).collect()
        },
        flags_by_rule=_count_by_rule(io.read_or_none(spark, cfg, tables.SILVER_USERS), "dq_flags"),
        reconciliation=_rows(view("bi_reconciliation_status").orderBy("report")),
        audit=audit_rows,
        table_versions=versions,
        last_run=last_run,
    )


# -- rendering (pure) ---------------------------------------------------------------------------


def _div(a: float | None, b: float | None) -> float | None:
    return None if not b or a is None else a / b


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _layout(fig: Any, height: int) -> Any:
    # The legend goes under the plot: Plotly's mode bar sits at the top right, where a legend
    # above the plot would be hidden behind it.
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": "Segoe UI, Helvetica, Arial, sans-serif", "size": 12, "color": "#334155"},
        legend={
            "orientation": "h",
            "x": 0,
            "y": -0.12,
            "yanchor": "top",
            "font": {"size": 12},
        },
        hoverlabel={"bgcolor": "white"},
    )
    fig.update_xaxes(gridcolor="#e2e8f0", zeroline=False)
    fig.update_yaxes(gridcolor="#e2e8f0", zeroline=False)
    return fig


def _platform_users(row: dict[str, Any], platform: str) -> int:
    """App users of one group of :data:`APP_PLATFORMS` in a ``bi_app_adoption`` row."""
    app, ios, android = row["app_users"], row["ios_users"], row["android_users"]
    return {
        "iOS only": app - android,
        "Android only": app - ios,
        "iOS and Android": ios + android - app,
    }[platform]


def build_figures(data: DashboardData) -> dict[str, Any]:
    """The dashboard's charts, by panel id (Plotly figures)."""
    import plotly.graph_objects as go

    figures: dict[str, Any] = {}
    countries = list(reversed(data.countries))
    names = [c["country_name"] or c["country_code"] for c in countries]
    fig = go.Figure()
    for key in ("users", "buyers", "sellers"):
        fig.add_bar(
            y=names,
            x=[c[key] for c in countries],
            name=key.capitalize(),
            orientation="h",
            marker_color=PALETTE[key],
        )
    figures["countries"] = _layout(fig.update_layout(barmode="group", bargap=0.25), 520)

    # One bar series per release: their stages differ (2024 has no 'active'), never summed.
    fig = go.Figure()
    for release in sorted({r["release"] for r in data.funnel}):
        stages = [r for r in data.funnel if r["release"] == release]
        if stages:
            fig.add_bar(
                x=[r["stage"].replace("_", " ") for r in stages],
                y=[r["users"] for r in stages],
                name=f"release {release}",
                marker_color=RELEASE_COLORS.get(release, "#64748b"),
                text=[f"{r['pct_of_registered']:.0f}%" for r in stages],
                textposition="outside",
            )
    figures["funnel"] = _layout(fig.update_layout(barmode="group"), 360)

    apps = list(reversed(data.app_adoption))
    fig = go.Figure()
    for label, color in APP_PLATFORMS:
        fig.add_bar(
            y=[a["country_name"] or a["country_code"] for a in apps],
            x=[100.0 * _platform_users(a, label) / a["users_with_app_data"] for a in apps],
            name=label,
            orientation="h",
            marker_color=color,
        )
    fig.update_xaxes(ticksuffix="%")
    figures["apps"] = _layout(fig.update_layout(barmode="stack"), 420)

    fig = go.Figure()
    for release in sorted({c["release"] for c in data.cohorts}):
        rows = [c for c in data.cohorts if c["release"] == release]
        days = [c["seniority_days"] for c in rows]
        fig.add_scatter(
            x=days,
            y=[c["users"] for c in rows],
            name=f"users {release}",
            mode="lines+markers",
            line={"color": RELEASE_COLORS.get(release, "#64748b")},
        )
        fig.add_scatter(
            x=days,
            y=[c["buyer_rate_pct"] for c in rows],
            name=f"buyer rate {release} (%)",
            mode="lines",
            yaxis="y2",
            line={"dash": "dot", "color": RELEASE_COLORS.get(release, "#64748b")},
        )
    fig.update_layout(
        xaxis_title="days since registration",
        # Registrations come in bursts with long gaps between them: one slot per day that has
        # users, rather than a line drawn across the empty months.
        xaxis_type="category",
        yaxis={"title": "users"},
        yaxis2={"title": "buyer rate %", "overlaying": "y", "side": "right", "showgrid": False},
    )
    figures["cohorts"] = _layout(fig, 420)

    rules = data.quarantine_by_rule or {"none": 0}
    fig = go.Figure(
        go.Bar(
            x=list(rules.values()),
            y=list(rules),
            orientation="h",
            marker_color="#dc2626",
            name="quarantined",
        )
    )
    if data.flags_by_rule:
        fig.add_bar(
            x=list(data.flags_by_rule.values()),
            y=list(data.flags_by_rule),
            orientation="h",
            marker_color="#f59e0b",
            name="flagged (kept)",
        )
    figures["quality"] = _layout(fig, 300)
    return figures


def _table(rows: Rows, columns: Sequence[tuple[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(f'{r[k]:,}' if isinstance(r[k], int) else str(r[k]))}</td>"
            for k, _ in columns
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


CSS = """
*{box-sizing:border-box} body{margin:0;background:#f1f5f9;color:#0f172a;
font-family:"Segoe UI",Helvetica,Arial,sans-serif}
header{background:#0f172a;color:#f8fafc;padding:18px 32px;display:flex;
justify-content:space-between;align-items:flex-end}
header h1{margin:0;font-size:22px;font-weight:600}
header p{margin:4px 0 0;color:#94a3b8;font-size:13px}
main{padding:20px 32px;display:grid;grid-template-columns:repeat(12,minmax(0,1fr));gap:16px}
.tile{grid-column:span 2;background:#fff;border-radius:10px;padding:14px 16px;
box-shadow:0 1px 2px rgba(15,23,42,.08)}
.tile .label{font-size:12px;color:#64748b;text-transform:uppercase;letter-spacing:.04em}
.tile .value{font-size:28px;font-weight:600;margin-top:4px} .tile .sub{font-size:12px;color:#64748b}
.panel{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px rgba(15,23,42,.08);
min-width:0}
.panel h2{font-size:15px;margin:0 0 2px;font-weight:600}
.panel p.note{margin:0 0 8px;font-size:12px;color:#64748b}
.w12{grid-column:span 12}.w7{grid-column:span 7}.w6{grid-column:span 6}
.w5{grid-column:span 5}.w4{grid-column:span 4}
table{border-collapse:collapse;width:100%;font-size:13px} th{white-space:nowrap}
td{overflow-wrap:anywhere}
th{text-align:left;color:#64748b;font-weight:600;
border-bottom:1px solid #e2e8f0;padding:6px 8px} td{padding:6px 8px;border-bottom:1px solid #f1f5f9}
.ok{color:#15803d;font-weight:600} .bad{color:#b91c1c;font-weight:600}
footer{padding:0 32px 24px;color:#94a3b8;font-size:12px}
"""


def render_dashboard(data: DashboardData) -> str:
    """The dashboard as one HTML document with every script and style inline."""
    figures = build_figures(data)
    charts: dict[str, str] = {}
    for i, (key, fig) in enumerate(figures.items()):
        charts[key] = fig.to_html(
            full_html=False,
            include_plotlyjs=i == 0,  # plotly.js inlined once, in the first chart
            config={"displaylogo": False, "responsive": True},
            div_id=f"chart-{key}",
        )
    k = data.kpis
    tiles = [
        ("Users", f"{k.get('users', 0):,}", "registered, both releases"),
        (
            "Buyers",
            f"{k.get('buyers', 0):,}",
            f"{_pct(_div(k.get('buyers'), k.get('users')))} of users",
        ),
        (
            "Sellers",
            f"{k.get('sellers', 0):,}",
            f"{_pct(_div(k.get('sellers'), k.get('users')))} of users",
        ),
        ("Top sellers", f"{k.get('top_sellers', 0):,}", "sold 20 or more"),
        (
            "App adoption",
            _pct(_div(k.get("app_users"), k.get("app_known"))),
            "users with app data (2020)",
        ),
        (
            "Active",
            _pct(_div(k.get("active"), k.get("login_known"))),
            "logged in within 365 days (2020)",
        ),
    ]
    tiles_html = "".join(
        f'<div class="tile" data-kpi="{html.escape(label)}"><div class="label">{html.escape(label)}'
        f'</div><div class="value">{html.escape(value)}</div><div class="sub">{html.escape(sub)}'
        "</div></div>"
        for label, value, sub in tiles
    )
    recon = [
        {
            **r,
            "status": "all match" if r["all_match"] else f"{r['mismatching']} mismatching",
        }
        for r in data.reconciliation
    ]
    balanced = all(a["unbalanced_files"] == 0 for a in data.audit) and bool(data.audit)
    recon_ok = bool(recon) and all(r["all_match"] for r in data.reconciliation)

    def status(ok: bool, yes: str, no: str) -> str:
        return f'<span class="{"ok" if ok else "bad"}">{html.escape(yes if ok else no)}</span>'

    def panel(width: str, title: str, note: str, body: str) -> str:
        return (
            f'<section class="panel {width}"><h2>{html.escape(title)}</h2>'
            f'<p class="note">{html.escape(note)}</p>{body}</section>'
        )

    panels = [
        panel(
            "w7",
            "Users, buyers and sellers by country",
            f"The {TOP_COUNTRIES} countries with most users (gold.bi_country_kpis); buyers and "
            "sellers are among the users, side by side, not stacked.",
            charts["countries"],
        ),
        panel(
            "w5",
            "Engagement funnel",
            "Nested stages, one funnel per release: registered, active within 365 days, liked or"
            " wished, bought or sold. 2024 has no login data, so it has no 'active' stage.",
            charts["funnel"],
        )
        + panel(
            "w6",
            "App adoption by country",
            f"2020 users; the {TOP_APP_COUNTRIES} countries with the highest adoption among "
            f"those with {MIN_USERS_PER_FIGURE}+ users with app data. Each app user is in one"
            " group, so the bar is the country's app adoption.",
            charts["apps"],
        ),
        panel(
            "w6",
            "Seniority cohorts",
            "Users and buyer rate by registration day (days since registration), per release.",
            charts["cohorts"],
        ),
        panel(
            "w6",
            "Data quality: rows per rule",
            "Quarantined rows (gold.bi_quarantine_by_rule) and rows kept with a flag"
            " (silver.users).",
            charts["quality"],
        ),
        panel(
            "w6",
            "Reconciliation with the publisher's reports",
            "Published figures recomputed from gold (gold.publisher_report_reconciliation). "
            + ("Status: " if recon else "No publisher reports in the input."),
            (status(recon_ok, "every figure matches", "mismatches found") if recon else "")
            + _table(
                recon,
                [
                    ("report", "report"),
                    ("figures", "figures"),
                    ("matching", "matching"),
                    ("status", "status"),
                ],
            ),
        ),
        panel(
            "w12",
            "Row accounting",
            "Rows read = to silver + quarantined + duplicates (gold.bi_data_quality). Status: ",
            status(balanced, "every file balanced", "unbalanced files")
            + _table(
                data.audit,
                [
                    ("step", "step"),
                    ("files", "files"),
                    ("rows_read", "read"),
                    ("rows_to_silver", "to silver"),
                    ("rows_quarantined", "quarantined"),
                    ("rows_duplicate", "duplicates"),
                ],
            ),
        ),
        panel(
            "w12",
            "Data freshness",
            f"Last run finished {data.last_run or 'never'}; versions of the tables gold reads and "
            "writes (Delta log).",
            _table(
                data.table_versions,
                [("table", "table"), ("version", "version"), ("written", "written (UTC)")],
            ),
        ),
    ]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>C2C users: gold dashboard</title><style>{CSS}</style></head>
<body><header><div><h1>C2C fashion store: users dashboard</h1>
<p>Gold layer of the lakehouse, both user releases (2020 and 2024)</p></div>
<p>Last run: {html.escape(data.last_run or "never")} &middot;
generated {html.escape(data.generated_at)}</p></header>
<main>{tiles_html}{"".join(panels)}</main>
<footer>Definitions: README, "Gold" and docs/gold_contract.md. Gender figures for 2024 are not
meaningful (every 2024 user is M).</footer></body></html>
"""


def write_dashboard(spark: SparkSession, cfg: LakeConfig, path: Path | None = None) -> Path:
    """Collect, render and write the dashboard; returns its path (default
    ``<lake>/reports/dashboard.html``)."""
    target = path or Path(cfg.lake_root or ".") / DASHBOARD_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_dashboard(collect_dashboard_data(spark, cfg)), encoding="utf-8")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m c2c_reporting.dashboard --lake <folder>``: (re)write the dashboard of a lake."""
    parser = argparse.ArgumentParser(description="Write the local HTML dashboard of a lake")
    parser.add_argument("--lake", required=True, type=Path)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    from c2c_etl.spark import get_spark

    spark = get_spark(True, "c2c-dashboard")
    cfg = local_config(args.lake / "landing", args.lake)
    print(f"Dashboard: {write_dashboard(spark, cfg, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
