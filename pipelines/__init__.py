"""Dagster definitions, assets, checks and the `lagesbild` command line."""
