"""One module per page section; each returns ``Block``s (dashboards/render.py)."""
