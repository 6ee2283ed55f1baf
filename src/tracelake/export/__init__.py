"""Moving data out: format writers (json, jsonl, csv, parquet) over query results."""
