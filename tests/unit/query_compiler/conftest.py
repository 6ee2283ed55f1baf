from __future__ import annotations

import pytest

from .data import connect


@pytest.fixture(scope="session")
def con():
    connection = connect()
    yield connection
    connection.close()
