"""How data is kept: the catalog and the event tables, in one DuckDB file."""
