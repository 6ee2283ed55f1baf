"""Dataset features above the store: uploads, versions, copying records between objects.

This layer may import ``model``, ``query``, ``store`` and ``export``; the server and the CLI
call it.
"""
