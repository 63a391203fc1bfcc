"""Imported by the forkserver of tests/cli_process.py: Great Expectations as the product imports it."""
from pipelines.checks.suites import great_expectations

great_expectations()
