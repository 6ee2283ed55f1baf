"""The full-text side index behind MATCH and search()."""
