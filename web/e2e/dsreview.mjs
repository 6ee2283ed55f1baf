// Browser flow of the review of dataset rows: flag a row from its editor, assign it to a second
// user, find it in the queue (Awaiting; Assigned to me as that user), open its editor from the
// queue, mark it reviewed, find it under Completed; what the server stored is checked at each
// step. Registered in e2e.mjs, which passes its helpers in.

export function dsreviewFlows({ cfg, result, check, shot, signIn, open, api }) {

  return {
    async dsreview(page) {
      const reviewer = cfg.reviewer;
      const dsId = cfg.data.dataset_id;
      const items = async (query = "", key = cfg.key) =>
        (await api(page, `v1/review_item?object_id=${dsId}${query}`, { key })).body.objects.filter((i) => i.object_type === "dataset");
      await signIn(page);
      check((await items()).length === 0, "no dataset row is in the queue yet");
      const dataset = (await api(page, `v1/dataset/${dsId}`)).body;

      // Flag the first row from its editor.
      await open(page, `datasets/${dsId}`);
      const table = page.getByTestId("dataset-rows");
      await table.getByTestId("row").first().click();
      const editor = page.getByTestId("row-editor");
      await editor.getByTestId("flag-for-review").click();
      await editor.getByTestId("review-state").filter({ hasText: "awaiting review" }).waitFor();
      let stored = await items();
      check(stored.length === 1 && stored[0].status === "awaiting" && stored[0].assignee === null, `flagged ${JSON.stringify(stored)}`);
      const item = stored[0];
      check(item.project_id === cfg.data.project_id && item.span_name === null, `the item is the dataset's row ${JSON.stringify(item)}`);
      const rowId = item.row_id;
      const row = (
        await api(page, "btql", { method: "POST", body: { query: `select: id, input | from: dataset('${dsId}') | filter: id = '${rowId}'` } })
      ).body.data[0];
      check(row && row.id === rowId, `the flagged row exists: ${rowId}`);

      // Assign it to the second user.
      const select = editor.getByTestId("assign-review");
      await select.locator("option", { hasText: reviewer }).first().waitFor({ state: "attached" });
      await select.selectOption(reviewer);
      await editor.getByTestId("assigned-to").filter({ hasText: reviewer }).waitFor();
      stored = await items();
      check(stored.length === 1 && stored[0].id === item.id && stored[0].assignee === reviewer, `assigned ${JSON.stringify(stored)}`);
      await shot(page, "dataset-row-review");
      await editor.getByRole("button", { name: "Cancel" }).click();
      // The table shows the row's review state.
      const badge = table.getByTestId("row-review");
      await badge.and(page.locator(`[data-status=awaiting][title*="${reviewer}"]`)).waitFor();
      check((await badge.count()) === 1, "one row has a review");

      // The admin's queue: under Awaiting with the dataset's name, not under Assigned to me.
      await open(page, "review");
      const queue = page.getByTestId("review-queue");
      const entry = queue.getByTestId("review-item").filter({ hasText: rowId });
      await entry.waitFor();
      // The dataset names load beside the queue: the entry says "dataset row" until they come.
      await entry.filter({ hasText: dataset.name }).waitFor();
      const text = await entry.textContent();
      check(text.includes(dataset.name) && text.includes("dataset"), `the queue names the dataset: ${text}`);
      await page.getByTestId("review-mine").click();
      await queue.getByText("Nothing is assigned to you.").or(queue.getByTestId("review-item").first()).waitFor();
      check((await queue.getByTestId("review-item").filter({ hasText: rowId }).count()) === 0, "the reviewer's row is not the admin's");

      // The second user: Assigned to me lists it; a click opens the row's editor.
      await page.evaluate(() => localStorage.clear());
      await signIn(page, cfg.reviewer_key);
      await open(page, "review", "status=mine");
      await entry.waitFor();
      await shot(page, "review-dataset-row");
      const mine = await items("&assignee=me&status=awaiting", cfg.reviewer_key);
      check(mine.length === 1 && mine[0].id === item.id, `the reviewer's items ${JSON.stringify(mine)}`);
      await entry.getByTestId("review-open").click();
      await page.waitForURL(new RegExp(`datasets/${dsId}\\?.*row=${encodeURIComponent(rowId)}`));
      await editor.waitFor();
      const input = await editor.getByTestId("edit-input").inputValue();
      check(JSON.stringify(JSON.parse(input)) === JSON.stringify(row.input), `the editor holds the row: ${input}`);
      await editor.getByTestId("assigned-to").filter({ hasText: reviewer }).waitFor();

      // Mark it reviewed: the item is completed; the editor offers Reopen.
      await editor.getByTestId("mark-reviewed").click();
      await editor.getByTestId("review-state").filter({ hasText: "reviewed ✓" }).waitFor();
      await editor.getByTestId("reopen-review").waitFor();
      stored = await items();
      check(stored.length === 1 && stored[0].status === "completed" && stored[0].assignee === reviewer, `completed ${JSON.stringify(stored)}`);
      await editor.getByRole("button", { name: "Cancel" }).click();
      await page.waitForFunction(() => !location.hash.includes("row="));
      await table.getByTestId("row-review").and(page.locator("[data-status=completed]")).waitFor();

      // Completed lists it; Awaiting no longer does.
      await open(page, "review", "status=completed");
      await entry.waitFor();
      await page.getByTestId("review-awaiting").click();
      await queue.getByText("Nothing awaits review.").or(queue.getByTestId("review-item").first()).waitFor();
      check((await queue.getByTestId("review-item").filter({ hasText: rowId }).count()) === 0, "a completed row is not awaiting");
      const done = await items("&status=completed", cfg.reviewer_key);
      check(done.length === 1 && done[0].id === item.id, `completed items ${JSON.stringify(done)}`);
      result.status = done[0].status;
      result.assignee = done[0].assignee;
      result.row_id = rowId;
    },
  };
}
