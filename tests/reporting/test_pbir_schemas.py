"""Every JSON file of the Power BI project against the Microsoft schema it declares.

Power BI Desktop validates PBIR files against these schemas when it opens a project, and a
missing required property or an unknown one is a blocking error there. The schemas are
Microsoft's own (microsoft/json-schemas), vendored under ``schemas/`` with their licence, so the
check runs offline; a file that declares a schema version not vendored fails rather than skips.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from c2c_reporting.powerbi import POWERBI_DIR

SCHEMAS = Path(__file__).parent / "schemas" / "microsoft-json-schemas"
SCHEMA_URL = "https://developer.microsoft.com/json-schemas/"
PROJECT_FILES = sorted(
    p
    for p in POWERBI_DIR.rglob("*")
    if p.is_file()
    # Desktop's local cache and the theme files (a theme is not a PBIR definition file).
    and not {".pbi", "StaticResources"} & set(p.parts)
    and (p.suffix in {".json", ".pbir", ".pbip", ".pbism"} or p.name == ".platform")
)


def _schema(url: str) -> dict:
    assert url.startswith(SCHEMA_URL), f"{url} is not one of Microsoft's published schemas"
    path = SCHEMAS / url.removeprefix(SCHEMA_URL)
    assert path.exists(), f"{url} is not vendored under {SCHEMAS}"
    return json.loads(path.read_text())


# The schemas refer to each other by relative paths under the same base URL.
REGISTRY = Registry(retrieve=lambda uri: Resource.from_contents(_schema(uri)))


def validate(document: dict) -> list[str]:
    """The schema errors of one PBIP/PBIR document (``$schema`` names its schema)."""
    url = document.get("$schema")
    if not url:
        return ["no $schema"]
    schema = {"$id": url, **_schema(url)}
    validator = Draft7Validator(schema, registry=REGISTRY)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}"
        for e in validator.iter_errors(document)
    ]


def test_the_project_has_its_report_model_and_visual_files():
    names = {p.name for p in PROJECT_FILES}
    assert {"report.json", "definition.pbir", "definition.pbism", "C2CUsers.pbip"} <= names
    assert sum(p.name == "visual.json" for p in PROJECT_FILES) > 20


@pytest.mark.parametrize("path", PROJECT_FILES, ids=lambda p: str(p.relative_to(POWERBI_DIR)))
def test_file_validates_against_the_microsoft_schema_it_declares(path):
    assert validate(json.loads(path.read_text())) == []


def test_a_report_without_a_required_property_is_refused():
    report = json.loads((POWERBI_DIR / "C2CUsers.Report/definition/report.json").read_text())
    report.pop("themeCollection")
    assert any("themeCollection" in e for e in validate(report))
    report = json.loads((POWERBI_DIR / "C2CUsers.Report/definition/report.json").read_text())
    report["unknownSetting"] = True
    assert any("unknownSetting" in e for e in validate(report))


def test_every_theme_and_resource_the_report_names_is_shipped():
    report_dir = POWERBI_DIR / "C2CUsers.Report"
    report = json.loads((report_dir / "definition" / "report.json").read_text())
    for package in report.get("resourcePackages", []):
        for item in package["items"]:
            shipped = report_dir / "StaticResources" / package["type"] / item["path"]
            assert shipped.exists(), f"{shipped} is referenced but not shipped"
    for theme in report["themeCollection"].values():
        packaged = [
            i["name"]
            for p in report.get("resourcePackages", [])
            if p["type"] == theme["type"]
            for i in p["items"]
        ]
        assert theme["name"] in packaged, f"theme {theme['name']} is not in a resource package"
