"""The quality checks: expectation suites run on the staging tables (``evaluation.py``: GE for row-level
expectations in ``suites.py``, SQL for whole-table ones, incremental uniqueness in ``uniqueness.py``), made Dagster
asset checks in ``asset_checks.py``. This package imports nothing itself, so the GE helper process
(``pipelines/ge_helper.py``) can import ``gx`` and ``suites`` without Dagster."""
