"""Names and per-environment settings of the platform, shared by infra, Data Factory and ops.

A light package (it needs only c2c-etl): installing the Data Factory code or the operator CLI
does not pull the Terraform provider bindings that ``c2c-infra`` needs to synthesize stacks.
"""
