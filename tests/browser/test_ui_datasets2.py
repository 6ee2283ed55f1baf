"""The datasets screen's columns, attachments, schemas as you type and stars on the server,
and the sandbox's saved queries (web/e2e/datasets2.mjs), in headless Chromium."""

from __future__ import annotations

import pytest

from tests.browser.conftest import run_flow
from tests.browser.seed import seed_datasets2


@pytest.fixture(scope="module")
def ui_data(ui_server):
    """The session's server and data, plus a dataset of this module's own."""
    server, data = ui_server
    with server.client() as client:
        extra = seed_datasets2(client, data["project_id"])
    return server, {**data, **extra}


def test_dataset_columns_chooser_field_and_expression_columns_sort(ui_data, tmp_path):
    server, data = ui_data
    result = run_flow("datasetcolumns", server, data, tmp_path)
    assert result["sorted"] == sorted(result["sorted"], reverse=True)


def test_dataset_row_attachments_upload_preview_download_remove(ui_data, tmp_path):
    server, data = ui_data
    result = run_flow("datasetattachments", server, data, tmp_path)
    assert result["size"] == result["uploaded"]


def test_dataset_row_editor_validates_field_schemas_as_you_type(ui_data, tmp_path):
    server, data = ui_data
    result = run_flow("schemaform", server, data, tmp_path)
    assert result["violations"] >= 1


def test_dataset_stars_on_the_server_per_key_with_local_migration(ui_data, tmp_path):
    server, data = ui_data
    result = run_flow("datasetstars", server, data, tmp_path)
    assert result["migrated"] is True


def test_sandbox_saved_queries_on_the_server(ui_data, tmp_path):
    """Saved sandbox queries on the server (/v1/view), the browser's local ones sent once;
    save, rename, open, delete."""
    server, data = ui_data
    result = run_flow("sandboxsaved", server, data, tmp_path)
    assert "legacy-q" in result["saved"]


def test_dataset_row_filter_error_position_comment_and_filtered_export(ui_data, tmp_path):
    """A bad filter's error names its place in the filter (not in the whole query), a `--`
    comment at the filter's end works, Export writes the filtered rows, and the Basic filter
    (field / operator / value conditions) keeps the API's rows."""
    server, data = ui_data
    result = run_flow("datasetfilter", server, data, tmp_path)
    assert result["shown"] == result["exported"] > 0
    assert "line 1, column 21" in result["error"]
    assert result["basic"] > 0  # the Basic filter's rows


def test_a_rows_url_opens_that_rows_editor_in_place_of_another(ui_data, tmp_path):
    """row= changed in an open tab (a pasted link, back and forward): the editor kept the first
    row's fields, stayed open once the URL named no row, and over another dataset's rows."""
    server, data = ui_data
    result = run_flow("datasetrowlinks", server, data, tmp_path)
    assert set(result["shown"]) == {"c00", "c01"}
    assert result["shown"]["c00"] != result["shown"]["c01"]
    assert result["editorsOnOther"] == 0
