"""What happens to a row: object types and routing, normalisation, merge semantics, xact ids.

This package knows no database and no HTTP.
"""
