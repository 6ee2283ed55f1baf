// Actions the server refuses or fails, on a project of its own (tests/browser/seed.py
// seed_action_errors): the review controls of a span's detail (flag, assign, mark reviewed),
// deleting a score configuration, the review queue's assign / mark reviewed / remove, and
// "Add to dataset". Each must show why (the server's message), keep showing what is stored,
// and leave nothing stored. Registered in e2e.mjs, which passes its helpers in.

export function actionErrorsFlows({ cfg, result, check, signIn, open, api, allowConsole, tableSettled }) {
  const pid = () => cfg.data.act_project_id;

  /** Sign in with another key in this browser (the sign-in form, whatever the session). */
  async function signInAs(page, key) {
    await page.goto(cfg.url + "/#/login");
    await page.getByTestId("api-key").fill(key);
    await page.getByTestId("sign-in").click();
    await page.waitForURL(/#\/p\/[^/]+\/logs/);
  }

  /** Open a span's detail from the URL (act-<i> is the root of act-trace-<i>): a click on a
   * table row could hit the previous page's rows. */
  async function openSpan(page, id) {
    const trace = id.replace(/^act-(\d+).*$/, "act-trace-$1");
    await open(page, "logs", `rows=spans&trace=${trace}&span=${id}`, pid());
    await page.getByTestId("span-detail").filter({ hasText: `id ${id}` }).waitFor();
  }

  /** The stored review items of the project, by row id. */
  async function items(page) {
    const res = await api(page, `v1/review_item?project_id=${pid()}`);
    check(res.status === 200, `review items: ${JSON.stringify(res)}`);
    return Object.fromEntries(res.body.objects.map((i) => [i.row_id, i]));
  }

  const spanItem = (row, trace) => ({ object_type: "project_logs", object_id: pid(), row_id: row, root_span_id: trace, span_name: "turn" });

  async function datasets(page, name) {
    const res = await api(page, `v1/dataset?project_id=${pid()}`);
    return res.body.objects.filter((d) => d.name === name);
  }

  async function datasetRows(page, id) {
    const res = await api(page, "btql", { method: "POST", body: { query: `select: id, input, origin | from: dataset('${id}') | limit: 100` } });
    check(res.status === 200, `dataset rows: ${JSON.stringify(res.body)}`);
    return res.body.data;
  }

  return {
    async reviewerrors(page) {
      await signIn(page);
      for (const item of Object.values(await items(page))) await api(page, `v1/review_item/${item.id}`, { method: "DELETE" });
      const flagged = await api(page, "v1/review_item", { method: "POST", body: spanItem("act-0", "act-trace-0") });
      check(flagged.status === 200, `flagged through the API: ${JSON.stringify(flagged)}`);
      const refused = await api(page, "v1/review_item", { method: "POST", body: spanItem("act-1", "act-trace-1"), key: cfg.read_key });
      check(refused.status === 403, `a read-only key's review item: ${JSON.stringify(refused)}`);
      const message = refused.body.error.message;

      // The span's detail, signed in with a read-only key.
      await signInAs(page, cfg.read_key);
      await openSpan(page, "act-1");
      const flag = page.getByTestId("review-flag");
      const flagError = flag.getByTestId("review-flag-error");
      await flag.getByTestId("flag-for-review").click();
      await flagError.filter({ hasText: `Not flagged: ${message}` }).waitFor();
      // (enabled again once the item is read again after the failure)
      await page.waitForFunction(() => !document.querySelector("[data-testid=flag-for-review]")?.disabled);
      check((await flag.getByTestId("review-state").count()) === 0, "still not flagged");
      await flag.getByTestId("assign-review").selectOption("bootstrap");
      await flagError.filter({ hasText: `Not assigned to bootstrap: ${message}` }).waitFor();
      check((await flag.getByTestId("assign-review").inputValue()) === "", "the select shows no assignee");
      check((await flag.getByTestId("assigned-to").count()) === 0, "no assignee badge");
      check(!(await items(page))["act-1"], "no review item stored for act-1");

      await openSpan(page, "act-0");
      await flag.getByTestId("review-state").filter({ hasText: "awaiting review" }).waitFor();
      await flag.getByTestId("mark-reviewed").click();
      await flagError.filter({ hasText: `Not marked reviewed: ${message}` }).waitFor();
      check((await flag.getByTestId("review-state").textContent()).includes("awaiting review"), "still awaiting review");
      await flag.getByTestId("assign-review").selectOption("bootstrap");
      await flagError.filter({ hasText: `Not assigned to bootstrap: ${message}` }).waitFor();
      check((await flag.getByTestId("assign-review").inputValue()) === "", "the select shows no assignee");
      let stored = (await items(page))["act-0"];
      check(stored.status === "awaiting" && stored.assignee === null, `act-0's item unchanged: ${JSON.stringify(stored)}`);

      // Deleting a score configuration.
      const review = page.getByTestId("human-review");
      await review.getByTestId("configure-scores").click();
      await review.locator("[data-testid=review-score][data-name=quality]").getByTestId("config-delete").click();
      await review.getByTestId("config-error").filter({ hasText: `quality not deleted: ${message}` }).waitFor();
      check((await review.locator("[data-testid=review-score][data-name=quality]").count()) === 1, "the configuration is still listed");
      const configs = await api(page, `v1/project_score?project_id=${pid()}`);
      check(configs.body.objects.some((c) => c.name === "quality"), "the configuration is still stored");

      // The review queue.
      await open(page, "review", "", pid());
      const row = page.getByTestId("review-item").filter({ hasText: "act-0" });
      await row.waitFor();
      const rowError = row.getByTestId("review-item-error");
      await row.getByTestId("review-complete").click();
      await rowError.filter({ hasText: `Not marked reviewed: ${message}` }).waitFor();
      await row.getByTestId("review-assignee").selectOption("bootstrap");
      await rowError.filter({ hasText: `Not assigned to bootstrap: ${message}` }).waitFor();
      check((await row.getByTestId("review-assignee").inputValue()) === "", "the queue's select shows no assignee");
      await row.getByTestId("review-remove").click();
      await rowError.filter({ hasText: `Not removed: ${message}` }).waitFor();
      check((await page.getByTestId("review-item").count()) === 1 && (await row.getByTestId("review-complete").isEnabled()), "still listed under Awaiting");
      stored = (await items(page))["act-0"];
      check(stored.status === "awaiting" && stored.assignee === null, `act-0's item unchanged: ${JSON.stringify(stored)}`);

      // The admin: an item removed meanwhile (404). The panel says so and shows what is stored.
      await signInAs(page, cfg.key);
      await openSpan(page, "act-0");
      await flag.getByTestId("review-state").filter({ hasText: "awaiting review" }).waitFor();
      check((await api(page, `v1/review_item/${stored.id}`, { method: "DELETE" })).status === 200, "removed through the API");
      await flag.getByTestId("mark-reviewed").click();
      await flagError.filter({ hasText: "Not marked reviewed: review item" }).waitFor();
      const gone = await flagError.textContent();
      check(/not found/.test(gone), `a removed item: ${gone}`);
      await flag.getByTestId("flag-for-review").waitFor(); // read again: not flagged
      // The queue: a row whose item was removed meanwhile goes, the error stays on the page.
      const again = await api(page, "v1/review_item", { method: "POST", body: spanItem("act-0", "act-trace-0") });
      await open(page, "review", "", pid());
      await row.waitFor();
      await api(page, `v1/review_item/${again.body.id}`, { method: "DELETE" });
      await row.getByTestId("review-complete").click();
      await page.getByTestId("review-item-error").filter({ hasText: "not found" }).waitFor();
      await row.waitFor({ state: "detached" });
      check((await page.getByTestId("review-item-error").textContent()).includes("Not marked reviewed: review item"), "the error stays once the row is gone");
      result.messages = { refused: message, gone };
    },

    async datasetadderrors(page) {
      await signIn(page);
      const doomed = await api(page, "v1/dataset", { method: "POST", body: { project_id: pid(), name: "doomed" } });
      check(doomed.status === 200, `dataset created: ${JSON.stringify(doomed)}`);
      await open(page, "logs", "rows=spans", pid());
      await tableSettled(page);
      const table = page.getByTestId("logs-table");
      await table.getByTestId("row-select").nth(0).check();
      await table.getByTestId("row-select").nth(1).check();
      await page.getByTestId("add-to-dataset").click();
      const dialog = page.getByTestId("add-dataset-dialog");
      const choice = dialog.getByTestId("dataset-choice");
      const error = dialog.getByTestId("add-dataset-error");
      await choice.locator("option", { hasText: "doomed" }).waitFor({ state: "attached" });
      await choice.selectOption({ label: "doomed" });

      // The dataset deleted while the dialog is open: 404, the dialog stays with its choice.
      check((await api(page, `v1/dataset/${doomed.body.id}`, { method: "DELETE" })).status === 200, "deleted through the API");
      await dialog.getByTestId("confirm-add").click();
      await error.filter({ hasText: "Not added: dataset" }).waitFor();
      const notFound = await error.textContent();
      check(/not found/.test(notFound), `a deleted dataset: ${notFound}`);
      check((await dialog.getByTestId("confirm-add").textContent()) === "Add" && (await dialog.getByTestId("confirm-add").isEnabled()), "no spinner left");
      check((await choice.inputValue()) === doomed.body.id, "the choice is kept");
      check((await page.getByTestId("add-to-dataset").textContent()).includes("Add 2 to dataset"), "the selection is kept");

      // A new dataset whose rows fail to be written (a 500 that is not JSON): a retry writes
      // them into the dataset just created, not into a second one.
      allowConsole(/^Failed to load resource: the server responded with a status of 500 /);
      const insert = (url) => /\/v1\/dataset\/[^/]+\/insert$/.test(url.pathname);
      await page.route(insert, (r) => r.fulfill({ status: 500, contentType: "text/html", body: "<html><body>Bad gateway</body></html>" }));
      await choice.selectOption("+");
      await dialog.getByTestId("new-dataset-name").fill("rescued");
      await dialog.getByTestId("confirm-add").click();
      await error.filter({ hasText: "Not added: HTTP 500 Internal Server Error" }).waitFor();
      const created = await datasets(page, "rescued");
      check(created.length === 1 && (await choice.inputValue()) === created[0].id, `the created dataset is chosen: ${JSON.stringify(created)}`);
      check((await datasetRows(page, created[0].id)).length === 0, "no rows written on a 500");
      await page.unroute(insert);
      await dialog.getByTestId("confirm-add").click();
      await dialog.waitFor({ state: "detached" });
      check((await datasets(page, "rescued")).length === 1, "one dataset named rescued");
      check((await datasetRows(page, created[0].id)).length === 2, "the retry wrote both rows");
      await page.waitForFunction(() => document.querySelector("[data-testid=add-to-dataset]").disabled);

      // The datasets cannot be listed (no answer): the dialog says so.
      allowConsole(/^Failed to load resource: net::ERR_FAILED/);
      const list = (url) => url.pathname.endsWith("/v1/dataset");
      await page.route(list, (r) => r.abort("failed"));
      await table.getByTestId("row-select").nth(0).check();
      await page.getByTestId("add-to-dataset").click();
      await error.filter({ hasText: "Datasets not listed: Could not reach the server" }).waitFor();
      await page.unroute(list);
      await dialog.getByTestId("cancel-add").click();

      // A read-only key: writing rows and creating a dataset are refused.
      const refused = await api(page, `v1/dataset/${created[0].id}/insert`, { method: "POST", body: { events: [{ input: "x" }] }, key: cfg.read_key });
      check(refused.status === 403, `a read-only key's insert: ${JSON.stringify(refused)}`);
      const message = refused.body.error.message;
      await signInAs(page, cfg.read_key);
      await openSpan(page, "act-2");
      await page.getByTestId("span-add-to-dataset").click();
      await choice.locator("option", { hasText: "rescued" }).waitFor({ state: "attached" });
      await choice.selectOption({ label: "rescued" });
      await dialog.getByTestId("confirm-add").click();
      await error.filter({ hasText: `Not added: ${message}` }).waitFor();
      await choice.selectOption("+");
      await dialog.getByTestId("new-dataset-name").fill("never");
      // (the error's text is the same as the last one: wait for the answer itself)
      const creating = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith("/v1/dataset") && r.request().method() === "POST");
      await dialog.getByTestId("confirm-add").click();
      check((await creating).status() === 403, "creating a dataset is refused");
      await error.filter({ hasText: `Not added: ${message}` }).waitFor();
      check(await dialog.isVisible(), "the dialog stays open");
      check((await datasetRows(page, created[0].id)).length === 2 && (await datasets(page, "never")).length === 0, "nothing stored with a read-only key");
      result.messages = { deleted: notFound, refused: message };
    },
  };
}
