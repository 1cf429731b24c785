"""Data Factory objects of the C2C lakehouse, built with the azure-mgmt-datafactory models."""
