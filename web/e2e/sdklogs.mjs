// Browser flows on logs as the Braintrust SDK writes them (a project of its own, see
// tests/browser/seed.py seed_sdk_logs): token counts in `metrics.tokens` through the search bar,
// the Tokens column and its sort; `error:false` in Traces and Spans mode against the built-in
// Non-errors view's meaning; the Level facet counting what a click on a level shows; a
// refused comment or category showing the server's message; and a tag change or "Write the
// output to expected" refused, failed or unanswered showing why.
// Registered in e2e.mjs, which passes its helpers in.

export function sdkLogsFlows({ cfg, result, check, signIn, open, api, allowConsole, tableSettled }) {
  const pid = () => cfg.data.sdk_project_id;

  /** The rows a query returns, through the API. */
  async function count(page, query) {
    const res = await api(page, "btql", { method: "POST", body: { query } });
    check(res.status === 200, `btql ${query}: ${JSON.stringify(res.body)}`);
    return res.body.data.length;
  }

  /** The number of rows the status bar reports once the rows of the URL's query are drawn. */
  async function loaded(page) {
    await tableSettled(page);
    return Number((await page.getByTestId("statusbar").textContent()).match(/^([\d,]+)/)[1].replace(/,/g, ""));
  }

  /** Type into the search bar and apply it; the rows shown once they are loaded. */
  async function search(page, text) {
    const before = page.url();
    await page.getByTestId("search").fill(text);
    await page.getByTestId("search").press("Enter");
    await page.waitForFunction((u) => location.href !== u, before);
    return loaded(page);
  }

  /** The texts of one column (by its id) in the logs table's rows. */
  async function column(page, id) {
    const table = page.getByTestId("logs-table");
    const ids = await table.locator(".thead .th").evaluateAll((els) => els.map((e) => e.getAttribute("data-col")));
    const i = ids.indexOf(id);
    check(i >= 0, `column ${id} shown: ${ids}`);
    return table.getByTestId("row").evaluateAll((rows, i) => rows.map((r) => r.querySelectorAll(".td")[i]?.textContent ?? ""), i);
  }

  // Traces as the logs screen asks for them (the summary shape: a trace whose spans satisfy the
  // filter, ANY_SPAN over its spans), and spans.
  const traces = (f) => `from: project_logs('${pid()}') summary | select: id | filter: ${f} | limit: 1000`;
  const spans = (f) => `from: project_logs('${pid()}') spans | select: id | filter: ${f} | limit: 1000`;

  /** The Level facet's values and counts, as drawn: { DEFAULT: n, ERROR: n }. */
  async function levels(page) {
    return page
      .getByTestId("facet-error")
      .getByTestId("facet-value")
      .evaluateAll((els) => Object.fromEntries(els.map((e) => [e.querySelector(".facet-name").textContent, Number(e.querySelector(".facet-count").textContent.replace(/,/g, ""))])));
  }

  /** Wait until the Level facet shows exactly `want` (its counts follow the filter). */
  async function expectLevels(page, want, what) {
    const sorted = (o) => JSON.stringify(Object.fromEntries(Object.entries(o).sort()));
    await page
      .waitForFunction(
        (want) => {
          const els = [...document.querySelectorAll("[data-testid=facet-error] [data-testid=facet-value]")];
          const got = Object.fromEntries(els.map((e) => [e.querySelector(".facet-name").textContent, Number(e.querySelector(".facet-count").textContent.replace(/,/g, ""))]).sort());
          return JSON.stringify(got) === want;
        },
        sorted(want),
        { timeout: 5000 },
      )
      .catch(async () => check(false, `${what}: the Level facet shows ${JSON.stringify(await levels(page))}, expected ${sorted(want)}`));
  }

  /** Open a span's detail in the trace panel. */
  async function openSpan(page, id) {
    await open(page, "logs", `filter=${encodeURIComponent(`id = '${id}'`)}&tab=btql`, pid());
    await page.getByTestId("logs-table").getByTestId("row").first().click();
    await page.getByTestId("span-detail").filter({ hasText: `id ${id}` }).waitFor();
  }

  /** Click (or press) and wait for the answer to the request whose path ends with `path`. */
  async function answered(page, path, action) {
    const done = page.waitForEvent("requestfinished", { predicate: (r) => new URL(r.url()).pathname.endsWith(path) }).catch(() => null);
    const failed = page.waitForEvent("requestfailed", { predicate: (r) => new URL(r.url()).pathname.endsWith(path) }).catch(() => null);
    await action();
    await Promise.race([done, failed]);
  }

  return {
    async sdktokens(page) {
      await signIn(page);
      // tokens:>100 reads metrics.tokens when a span has no total_tokens.
      await open(page, "logs", "", pid());
      await loaded(page);
      const expected = await count(page, traces("coalesce(metrics.total_tokens, metrics.tokens) > 100"));
      const shown = await search(page, "tokens:>100");
      check(expected > 0 && shown === expected, `tokens:>100 shows ${shown} traces, the API ${expected}`);
      check((await page.getByTestId("search").inputValue()) === "tokens:>100", "the bar keeps tokens:>100");
      // Spans mode: the Tokens column shows metrics.tokens, and sorts on it (on the server).
      await open(page, "logs", "rows=spans&sort=total_tokens:desc", pid());
      await loaded(page);
      const tokens = await column(page, "total_tokens");
      check(tokens[0] === String(cfg.data.sdk_max_tokens), `largest first: ${tokens}`);
      const numbers = tokens.filter((t) => t !== "").map((t) => Number(t.replace(/,/g, "")));
      check(numbers.length === 8, `every llm span shows its tokens: ${tokens}`);
      check(numbers.every((n, i) => i === 0 || numbers[i - 1] >= n), `sorted descending: ${tokens}`);
      result.tokens = numbers;
    },

    async sdkerrors(page) {
      await signIn(page);
      // Traces: error:false (and level:DEFAULT) keeps the traces without an error on any
      // span, as the built-in Non-errors view does (one trace's error is on a child span).
      await open(page, "logs", "", pid());
      const total = await loaded(page);
      const clean = await count(page, traces("NOT ANY_SPAN(error IS NOT NULL)"));
      const failed = await count(page, traces("error IS NOT NULL"));
      check(clean + failed === total && failed === 2, `${clean} clean and ${failed} failed of ${total} traces`);
      for (const text of ["level:DEFAULT", "error:false"]) {
        await open(page, "logs", "", pid());
        await loaded(page);
        const shown = await search(page, text);
        check(shown === clean, `${text} shows ${shown} traces, expected ${clean}`);
      }
      check((await page.getByTestId("search").inputValue()) === "error:false", "the bar shows the condition back");
      check((await search(page, "error:true")) === failed, "error:true shows the failed traces");
      // Spans: a span without an error (its trace may have one elsewhere).
      await open(page, "logs", "rows=spans", pid());
      await loaded(page);
      const okSpans = await count(page, spans("error IS NULL"));
      const shown = await search(page, "error:false");
      check(shown === okSpans, `error:false shows ${shown} spans, the API ${okSpans}`);
      result.clean = clean;
    },

    async levelfacet(page) {
      await signIn(page);
      // Traces: DEFAULT counts the traces a click on it selects (no error on any span, as
      // error:false), not the traces that have some span without an error; ERROR those with one.
      const clean = await count(page, traces("NOT ANY_SPAN(error IS NOT NULL)"));
      const failed = await count(page, traces("error IS NOT NULL"));
      check(clean === 6 && failed === 2, `${clean} clean and ${failed} failed traces`);
      await open(page, "logs", "facets=1", pid());
      await loaded(page);
      await expectLevels(page, { DEFAULT: clean, ERROR: failed }, "traces");
      await page.getByTestId("facet-error").getByTestId("facet-value").filter({ hasText: "DEFAULT" }).click();
      await page.waitForURL(/conds=/);
      check((await loaded(page)) === clean, "a click on DEFAULT shows the clean traces");
      await expectLevels(page, { DEFAULT: clean }, "traces under error is null");
      // The counts follow another condition as the rows do (one span must satisfy it).
      await page.getByTestId("search").fill("error:false type:llm");
      await page.getByTestId("search").press("Enter");
      await page.waitForURL(/span_attributes.type/);
      const llmClean = await count(page, traces("NOT ANY_SPAN(error IS NOT NULL) AND span_attributes.type = 'llm'"));
      check((await loaded(page)) === llmClean, "rows under error:false type:llm");
      await expectLevels(page, { DEFAULT: llmClean }, "traces under error:false type:llm");
      // Spans: each span on its own.
      const okSpans = await count(page, spans("error IS NULL"));
      const badSpans = await count(page, spans("error IS NOT NULL"));
      await open(page, "logs", "rows=spans&facets=1", pid());
      await loaded(page);
      await expectLevels(page, { DEFAULT: okSpans, ERROR: badSpans }, "spans");
      await page.getByTestId("facet-error").getByTestId("facet-value").filter({ hasText: "DEFAULT" }).click();
      await page.waitForURL(/conds=/);
      check((await loaded(page)) === okSpans, "a click on DEFAULT shows the spans without an error");
      await expectLevels(page, { DEFAULT: okSpans }, "spans under error is null");
      result.levels = { clean, failed, okSpans, badSpans };
    },

    async traceactionerrors(page) {
      // Adding or removing a tag and "Write the output to expected" when the server refuses
      // (a read-only key: 403), answers a 500 that is not JSON, or cannot be reached: the
      // panel says why, keeps what was typed and shows what is stored; a retry then works.
      const tagEditor = page.getByTestId("tag-editor");
      const chips = async () => (await tagEditor.getByTestId("tag-chip").allTextContents()).map((t) => t.replace(/\s*×$/, "").trim());
      const stored = async () => (await api(page, "btql", { method: "POST", body: { query: `select: tags, output, expected | from: project_logs('${pid()}') | filter: id = 'sdk-3'` } })).body.data[0];
      const tagError = tagEditor.getByTestId("tag-error");
      const expectedError = page.getByTestId("output-to-expected-error");
      await signIn(page, cfg.read_key);
      const tagged = await api(page, `v1/project_logs/${pid()}/insert`, { method: "POST", body: { events: [{ id: "sdk-3", tags: ["keep"], _is_merge: true, _merge_paths: [["tags"]] }] } });
      check(tagged.status === 200, `tagged through the API: ${JSON.stringify(tagged)}`);
      const refused = await api(page, `v1/project_logs/${pid()}/insert`, { method: "POST", body: { events: [{ id: "sdk-3", tags: ["x"], _is_merge: true }] }, key: cfg.read_key });
      check(refused.status === 403, `a read-only key's insert: ${JSON.stringify(refused)}`);
      const message = refused.body.error.message;

      await openSpan(page, "sdk-3");
      await page.getByTestId("tag-input").fill("urgent");
      await answered(page, "/insert", () => page.getByTestId("tag-input").press("Enter"));
      await tagError.filter({ hasText: message }).waitFor();
      check((await page.getByTestId("tag-input").inputValue()) === "urgent", "the refused tag stays in its box");
      check(JSON.stringify(await chips()) === '["keep"]', `tags shown after a refused add: ${await chips()}`);
      await answered(page, "/insert", () => tagEditor.getByTitle("Remove keep").click());
      await tagError.filter({ hasText: message }).waitFor();
      check(JSON.stringify(await chips()) === '["keep"]', `tags shown after a refused removal: ${await chips()}`);
      await answered(page, "/feedback", () => page.getByTestId("output-to-expected").click());
      await expectedError.filter({ hasText: message }).waitFor();
      check(await page.getByTestId("output-to-expected").isVisible(), "the button stays: expected is not the output");
      const before = await stored();
      check(JSON.stringify(before.tags) === '["keep"]' && before.expected == null, `nothing stored: ${JSON.stringify(before)}`);

      // The admin: a 500 with an HTML body, then no server at all.
      await page.goto(cfg.url + "/#/login");
      await page.getByTestId("api-key").fill(cfg.key);
      await page.getByTestId("sign-in").click();
      await page.waitForURL(/#\/p\/[^/]+\/logs/);
      await openSpan(page, "sdk-3");
      allowConsole(/^Failed to load resource: the server responded with a status of 500 /);
      allowConsole(/^Failed to load resource: net::ERR_FAILED/);
      const insert = "**/v1/project_logs/*/insert";
      const feedback = "**/v1/project_logs/*/feedback";
      await page.route(insert, (r) => r.fulfill({ status: 500, contentType: "text/html", body: "<html><body>Bad gateway</body></html>" }));
      await page.getByTestId("tag-input").fill("urgent");
      await answered(page, "/insert", () => page.getByTestId("tag-input").press("Enter"));
      await tagError.filter({ hasText: "500" }).waitFor();
      const text500 = await tagError.textContent();
      check(/HTTP 500 Internal Server Error/.test(text500), `a 500 without a JSON body: ${text500}`);
      check((await page.getByTestId("tag-input").inputValue()) === "urgent" && JSON.stringify(await chips()) === '["keep"]', "nothing added on a 500");
      await page.unroute(insert);
      await page.route(insert, (r) => r.abort("failed"));
      await answered(page, "/insert", () => tagEditor.getByTitle("Remove keep").click());
      await tagError.filter({ hasText: "Could not reach the server" }).waitFor();
      check(JSON.stringify(await chips()) === '["keep"]', `tags shown after a failed removal: ${await chips()}`);
      await page.route(feedback, (r) => r.abort("failed"));
      await answered(page, "/feedback", () => page.getByTestId("output-to-expected").click());
      await expectedError.filter({ hasText: "Could not reach the server" }).waitFor();
      const networkText = await expectedError.textContent();

      // The server back: the retry works and the errors go.
      await page.unroute(insert);
      await page.unroute(feedback);
      await answered(page, "/insert", () => page.getByTestId("tag-input").press("Enter"));
      await tagEditor.getByTestId("tag-chip").filter({ hasText: "urgent" }).waitFor();
      check((await tagError.count()) === 0, "the tag error is gone after a save");
      check((await page.getByTestId("tag-input").inputValue()) === "", "the box is empty once the tag is stored");
      await page.getByTestId("output-to-expected").click();
      await page.getByTestId("output-to-expected").waitFor({ state: "detached" }); // expected = output now
      check((await expectedError.count()) === 0, "the expected error is gone");
      const after = await stored();
      check(JSON.stringify(after.tags) === '["keep","urgent"]', `stored tags ${JSON.stringify(after.tags)}`);
      check(JSON.stringify(after.expected) === JSON.stringify(after.output), `stored expected ${JSON.stringify(after)}`);

      // Two tag changes in a row: while one is saved the others wait (disabled), and the next
      // starts from the tags it stored even before the span is read again (slowed down here).
      await page.route(insert, async (r) => (await new Promise((ok) => setTimeout(ok, 800)), r.continue()));
      await page.route("**/btql", async (r) => (await new Promise((ok) => setTimeout(ok, 2000)), r.continue()));
      await page.getByTestId("tag-input").fill("one");
      await answered(page, "/insert", async () => {
        await page.getByTestId("tag-input").press("Enter");
        check(await tagEditor.getByTitle("Remove keep").isDisabled(), "no second change while one is saved");
      });
      await page.unroute(insert);
      await page.waitForFunction(() => !document.querySelector("[data-testid=tag-input]").readOnly);
      check(JSON.stringify(await chips()) === '["keep","urgent","one"]', `tags shown once stored: ${await chips()}`);
      await page.getByTestId("tag-input").fill("two");
      await answered(page, "/insert", () => page.getByTestId("tag-input").press("Enter"));
      await page.unroute("**/btql");
      const both = (await stored()).tags;
      check(JSON.stringify(both) === '["keep","urgent","one","two"]', `stored tags after two quick adds ${JSON.stringify(both)}`);
      result.messages = { refused: message, server: text500, network: networkText };
    },

    async feedbackerrors(page) {
      // A read-only key: the server refuses a comment and a categorical score; the panel says why.
      const refused = await (async () => {
        await signIn(page, cfg.read_key);
        return api(page, `v1/project_logs/${pid()}/feedback`, { method: "POST", body: { feedback: [{ id: "sdk-0", comment: "probe" }] }, key: cfg.read_key });
      })();
      check(refused.status === 403, `a read-only key's feedback: ${JSON.stringify(refused)}`);
      const message = refused.body.error.message;
      await open(page, "logs", `filter=${encodeURIComponent("id = 'sdk-0'")}&tab=btql`, pid());
      await page.getByTestId("logs-table").getByTestId("row").first().click();
      const detail = page.getByTestId("span-detail");
      await detail.waitFor();
      const verdict = detail.locator("[data-testid=review-score][data-name=verdict]");
      await verdict.getByTestId("review-category").filter({ hasText: "good" }).click();
      await verdict.getByTestId("review-error").filter({ hasText: message }).waitFor();
      await page.getByTestId("comment-input").fill("Looks right to me.");
      await page.getByTestId("comment-input").press("Enter");
      await page.getByTestId("comments").getByTestId("comment-error").filter({ hasText: message }).waitFor();
      check((await page.getByTestId("comment-input").inputValue()) === "Looks right to me.", "the refused comment stays in its box");
      const stored = await api(page, "btql", { method: "POST", body: { query: `select: scores, comments | from: project_logs('${pid()}') | filter: id = 'sdk-0'` } });
      const row = stored.body.data[0];
      check(!row.scores?.verdict && !(row.comments || []).length, `nothing stored: ${JSON.stringify(row)}`);
      result.message = message;
    },
  };
}
