"""The local HTML dashboard opened in headless Chromium (Debian's), offline, in a 1280 px wide
window: no console error, no network request, every chart drawn with data, nothing wider than the
window, no table cut off, no legend under Plotly's mode bar, and a screenshot for a person to
look at."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from c2c_reporting.dashboard import (
    DASHBOARD_PATH,
    collect_dashboard_data,
    render_dashboard,
    write_dashboard,
)

# Debian's chromium by default; C2C_CHROMIUM names another Chromium build (GitHub's runners
# have Google Chrome at /usr/bin/google-chrome, and Ubuntu's chromium package is a snap stub).
CHROMIUM = Path(os.environ.get("C2C_CHROMIUM", "/usr/bin/chromium"))
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "reporting"
# Without the background-networking flags Chromium phones home, and this machine refuses it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHARTS = ("countries", "funnel", "apps", "cohorts", "quality")
WINDOW = {"width": 1280, "height": 800}
MIN_LEGEND_FONT_PX = 11
# What a reader at 1280 px would notice: sideways scroll, a table column past its panel's edge
# (each table's last header cell), a legend under the mode bar or outside its chart, a legend
# too small to read.
LAYOUT = """() => {
  const rect = el => el.getBoundingClientRect();
  const overlap = (a, b) => a.width > 0 && b.width > 0 && a.left < b.right && b.left < a.right
    && a.top < b.bottom && b.top < a.bottom;
  const cut = [];
  for (const table of document.querySelectorAll('.panel table')) {
    const panel = rect(table.closest('.panel'));
    for (const cell of table.querySelectorAll('th, td')) {
      const r = rect(cell);
      if (r.right > panel.right + 0.5 || r.left < panel.left - 0.5) {
        cut.push(table.closest('.panel').querySelector('h2').textContent + ': ' + cell.textContent);
        break;
      }
    }
  }
  const legends = {};
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const legend = plot.querySelector('.legend');
    if (!legend) continue;
    const bar = plot.querySelector('.modebar');
    const sizes = [...legend.querySelectorAll('.legendtext')].map(
      t => parseFloat(getComputedStyle(t).fontSize));
    const box = rect(plot), own = rect(legend);
    legends[plot.id] = {
      under_mode_bar: bar !== null && overlap(rect(bar), own),
      outside_chart: own.left < box.left - 0.5 || own.right > box.right + 0.5
        || own.top < box.top - 0.5 || own.bottom > box.bottom + 0.5,
      smallest_font: Math.min(...sizes),
    };
  }
  return {
    sideways: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    cut: cut,
    legends: legends,
  };
}"""


@pytest.fixture(scope="module")
def dashboard(spark, sample_gold) -> Path:
    return write_dashboard(spark, sample_gold.cfg)


@pytest.fixture(scope="module")
def browser_run(dashboard, tmp_path_factory):
    """Open the dashboard once: (console errors, requests, charts' point counts, tiles, page)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is not installed: `make chromium` (part of `make test`)")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    requests: list[str] = []
    failed: list[str] = []
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=WINDOW,
        )
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(dashboard.as_uri(), wait_until="load")
        page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot').length === {len(CHARTS)}"
        )
        points = page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('.js-plotly-plot')].map(
                el => [el.id, {
                  data: el.data.reduce((n, t) => n + (t.x || []).length, 0),
                  drawn: el.querySelectorAll('.point, .scatterlayer .trace path').length,
                }]))"""
        )
        tiles = page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('.tile')].map(
                t => [t.dataset.kpi, t.querySelector('.value').textContent]))"""
        )
        layout = page.evaluate(LAYOUT)
        page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)
        context.close()
    return errors, requests, failed, points, tiles, layout


def test_the_dashboard_is_written_under_the_lake(dashboard, sample_gold):
    assert dashboard == Path(sample_gold.cfg.lake_root) / DASHBOARD_PATH
    text = dashboard.read_text()
    # Everything inline: no external script, stylesheet or image tag.
    assert not re.search(r"<script[^>]*\bsrc=", text)
    assert not re.search(r"<(link|img|iframe)\b", text)


def test_no_console_error_and_no_network_request(browser_run, dashboard):
    errors, requests, failed, _, _, _ = browser_run
    assert errors == []
    assert failed == []
    assert [u for u in requests if not u.startswith("file://")] == []


@pytest.mark.parametrize("chart", CHARTS)
def test_every_chart_has_data_and_draws_it(browser_run, chart):
    points = browser_run[3][f"chart-{chart}"]
    assert points["data"] > 0, f"{chart} has no data"
    assert points["drawn"] > 0, f"{chart} drew nothing"


def test_the_page_fits_a_1280_px_window_without_sideways_scroll(browser_run):
    assert browser_run[5]["sideways"] <= 0


def test_no_table_is_cut_off_at_1280_px(browser_run):
    assert browser_run[5]["cut"] == []


# The charts with more than one series, which Plotly gives a legend.
@pytest.mark.parametrize("chart", ["countries", "funnel", "apps", "cohorts"])
def test_legends_are_clear_of_the_mode_bar_inside_their_chart_and_readable(browser_run, chart):
    legend = browser_run[5]["legends"][f"chart-{chart}"]
    assert not legend["under_mode_bar"]
    assert not legend["outside_chart"]
    assert legend["smallest_font"] >= MIN_LEGEND_FONT_PX


def test_kpi_tiles_show_the_gold_figures(browser_run, spark, sample_gold):
    tiles = browser_run[4]
    users = spark.table("bi_fact_user").count()
    buyers = spark.table("bi_fact_user").filter("is_buyer").count()
    assert tiles["Users"] == f"{users:,}"
    assert tiles["Buyers"] == f"{buyers:,}"
    assert tiles["App adoption"].endswith("%")
    assert (OUTPUT / "dashboard.png").stat().st_size > 50_000


def test_quality_and_freshness_panels_report_the_lake(spark, sample_gold):
    data = collect_dashboard_data(spark, sample_gold.cfg)
    assert sum(data.quarantine_by_rule.values()) > 0
    assert data.audit and all(a["unbalanced_files"] == 0 for a in data.audit)
    assert {v["table"] for v in data.table_versions} >= {"silver.users", "gold.agg_user_counts"}
    assert data.last_run
    html = render_dashboard(data)
    assert "every file balanced" in html
    assert "every figure matches" in html
