"""Run tags the command line sets and the assets read (a module of its own, so the CLI names them without importing
Dagster and the assets before a refresh has started its GE helper)."""

FULL_TAG = "lagesbild/full"  # run tag: rebuild partitioned models and all pages (``lagesbild refresh --full``)
PAGES_TAG = "lagesbild/pages"  # run tag: comma-separated municipalities whose pages must be rebuilt (backfills)
