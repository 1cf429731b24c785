"""Reporting on the gold layer: Power BI project, Databricks AI/BI dashboard, local HTML."""
