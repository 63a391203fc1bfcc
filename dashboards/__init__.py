"""Pure figure builders (``figures``), Swedish formatting (``format``), one shared theme and page templates."""
