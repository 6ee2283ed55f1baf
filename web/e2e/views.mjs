// Browser flows of the logs screen's views and facets and of review assignment: built-in and
// saved views (save, rename, default, delete), the facet sidebar's counts and clicks, and
// "Assign to…" with the Review queue's tabs and the Unreviewed / Assigned to me views.
// Registered in e2e.mjs, which passes its helpers in. Each flow checks what the server stored.

export function viewsFlows({ cfg, result, check, shot, signIn, open, api, tableSettled }) {
  const pid = () => cfg.data.project_id;


  async function count(page, query) {
    const res = await api(page, "btql", { method: "POST", body: { query } });
    check(res.status === 200, `btql ${query}: ${JSON.stringify(res.body)}`);
    return res.body.data[0].n;
  }

  /** The number the status bar reports once loading is done. */
  async function loaded(page) {
    const bar = page.getByTestId("statusbar");
    await tableSettled(page);
    return Number((await bar.textContent()).match(/^([\d,]+)/)[1].replace(/,/g, ""));
  }

  /** A parameter of the page's route (in the URL fragment). */
  function param(page, name) {
    return new URLSearchParams(new URL(page.url()).hash.split("?")[1] || "").get(name);
  }

  async function pickView(page, label) {
    const picker = page.getByTestId("view-picker");
    const value = await picker.locator("option", { hasText: label }).first().getAttribute("value");
    await picker.selectOption(value);
    await page.waitForURL(new RegExp(`view=${encodeURIComponent(value).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    return value;
  }

  const PAGE = 50; // rows of the logs screen's first page
  const logs = (p) => `from: project_logs('${pid()}') | measures: count(distinct root_span_id) as n${p ? ` | filter: ${p}` : ""}`;

  return {
    async views(page) {
      await signIn(page);
      await open(page, "logs");
      const total = await count(page, logs());
      check((await loaded(page)) === Math.min(PAGE, total), "logs shown");
      // Built-in Errors: the rows are the traces with an error.
      await pickView(page, "Errors");
      check(JSON.parse(param(page, "conds"))[0].op === "is not null", "Errors sets its condition in the URL");
      const errors = await loaded(page);
      const expected = await count(page, `from: project_logs('${pid()}') | measures: count(distinct root_span_id) as n | filter: error IS NOT NULL`);
      check(errors === expected && errors > 0, `Errors shows ${errors} traces, the API ${expected}`);
      // Non-errors: every other trace.
      await pickView(page, "Non-errors");
      const nonErrors = await loaded(page);
      check(nonErrors === Math.min(PAGE, total - errors), `Non-errors ${nonErrors} = ${total} - ${errors}`);
      // Save a view: errors, as spans, sorted by time, a search and a column set.
      await pickView(page, "Errors");
      await page.getByTestId("rows-spans").click();
      await page.waitForURL(/rows=spans/);
      // The one-line search bar shows the view's condition as a token; words search the text.
      check((await page.getByTestId("search").inputValue()) === "error:true", `bar ${await page.getByTestId("search").inputValue()}`);
      await page.getByTestId("search").fill("error:true refund");
      await page.getByTestId("search").press("Enter");
      await page.waitForURL(/q=refund/);
      const spanErrors = await loaded(page);
      const refundErrors = await count(page, `from: project_logs('${pid()}') | measures: count(1) as n | filter: error IS NOT NULL AND search('refund')`);
      check(spanErrors === refundErrors && spanErrors > 0, `error spans about refunds: ${spanErrors}, API ${refundErrors}`);
      await page.getByTestId("save-view").click();
      await page.getByTestId("view-name").fill("Refund errors (spans)");
      await page.getByTestId("view-name-ok").click();
      await page.getByTestId("rename-view").waitFor();
      const table = `object_type=project&object_id=${pid()}&view_type=logs`;
      let stored = (await api(page, `v1/view?${table}&view_name=${encodeURIComponent("Refund errors (spans)")}`)).body.objects;
      check(stored.length === 1, `one stored view: ${JSON.stringify(stored)}`);
      const view = stored[0];
      check(view.options.rows === "spans" && view.view_data.search.q === "refund", `stored ${JSON.stringify(view)}`);
      check(view.view_data.search.conds[0].field === "error", `stored conds ${JSON.stringify(view.view_data)}`);
      check(page.url().includes(`view=${view.id}`), "the saved view is selected in the URL");
      // Back to All (every filter cleared), then the saved view brings its state back.
      await pickView(page, "All");
      check(!/rows=spans|q=|conds=/.test(page.url()), `All clears the filters: ${page.url()}`);
      check((await loaded(page)) === Math.min(PAGE, total), "All shows every trace");
      await pickView(page, "Refund errors (spans)");
      await page.waitForURL(/rows=spans/);
      check(/q=refund/.test(page.url()), "the view's search is back");
      check((await loaded(page)) === spanErrors, "the view's rows are back");
      await shot(page, "saved-views");
      // Change the view, update it; rename it.
      await page.getByTestId("rows-traces").click();
      await page.getByTestId("update-view").click();
      await page.getByTestId("update-view").waitFor({ state: "detached" });
      stored = (await api(page, `v1/view/${view.id}`)).body;
      check(stored.options.rows === "traces", `updated view ${JSON.stringify(stored.options)}`);
      await page.getByTestId("rename-view").click();
      await page.getByTestId("view-name").fill("Refund errors");
      await page.getByTestId("view-name-ok").click();
      await page.getByTestId("view-picker").locator("option", { hasText: /^Refund errors( ★)?$/ }).waitFor({ state: "attached" });
      check((await api(page, `v1/view/${view.id}`)).body.name === "Refund errors", "renamed on the server");
      // My default: stored on the server, applied when the logs screen opens without state.
      await page.getByTestId("default-view").click();
      await page.getByTestId("default-view").filter({ hasText: "My default" }).waitFor();
      const def = (await api(page, `v1/view_default?${table}`)).body;
      check(def.view_id === view.id && def.user_id === "bootstrap", `stored default ${JSON.stringify(def)}`);
      await open(page, "experiments");
      await open(page, "logs");
      await page.waitForURL(new RegExp(`view=${view.id}`));
      check(/q=refund/.test(page.url()), "the default view's state is applied");
      // Delete it, after a confirmation (it is shared with the organization): dismissed,
      // nothing is deleted; accepted, gone on the server, and the default with it.
      // (The click returns once its dialog is answered.)
      const clickDelete = async (accept) => {
        let asked = null;
        const onDialog = (d) => {
          asked = `${d.type()}: ${d.message()}`;
          return accept ? d.accept() : d.dismiss();
        };
        page.once("dialog", onDialog);
        await page.getByTestId("delete-view").click();
        page.off("dialog", onDialog);
        return asked;
      };
      const asked = await clickDelete(false);
      check(asked?.startsWith("confirm: ") && asked.includes("Refund errors"), `delete asks first: ${asked}`);
      check((await api(page, `v1/view/${view.id}`)).status === 200, "a dismissed delete keeps the view");
      check(page.url().includes(`view=${view.id}`), "a dismissed delete keeps the view selected");
      await clickDelete(true);
      await page.waitForFunction(() => !location.hash.includes("view="));
      check((await api(page, `v1/view/${view.id}`)).status === 404, "the view is deleted");
      check((await api(page, `v1/view_default?${table}`)).body.view_id === null, "the default is cleared");
      await api(page, "v1/view", { method: "POST", body: { object_type: "project", object_id: pid(), view_type: "logs", name: "Project only" } });
      // An experiment's rows (the same screen) have views of their own.
      const eid = cfg.data.candidate_experiment;
      await open(page, `experiments/${eid}`);
      await loaded(page);
      await page.getByTestId("rows-spans").click();
      await page.getByTestId("save-view").click();
      await page.getByTestId("view-name").fill("Experiment spans");
      await page.getByTestId("view-name-ok").click();
      await page.getByTestId("rename-view").waitFor();
      const expViews = (await api(page, `v1/view?object_type=experiment&object_id=${eid}&view_type=experiment`)).body.objects;
      check(expViews.length === 1 && expViews[0].name === "Experiment spans" && expViews[0].options.rows === "spans", `experiment views ${JSON.stringify(expViews)}`);
      // the project's views (one saved before this) are not offered here
      const projectViews = (await api(page, `v1/view?${table}`)).body.objects;
      const saved = await page.getByTestId("view-picker").locator("optgroup[label=Saved] option").allTextContents();
      check(JSON.stringify(saved) === '["Experiment spans"]' && !projectViews.some((v) => v.name === "Experiment spans"), `saved views offered: ${saved}`);
      result.views = "ok";
    },

    async facets(page) {
      await signIn(page);
      await open(page, "logs");
      await loaded(page);
      await page.getByTestId("toggle-facets").click();
      await page.waitForURL(/facets=1/);
      const typeFacet = page.getByTestId("facet-type");
      await typeFacet.getByTestId("facet-value").first().waitFor();
      const byType = async () =>
        Object.fromEntries(
          await typeFacet.getByTestId("facet-value").evaluateAll((els) => els.map((e) => [e.querySelector(".facet-name").textContent, Number(e.querySelector(".facet-count").textContent.replace(/,/g, ""))])),
        );
      const before = await byType();
      for (const type of ["llm", "task", "tool"]) {
        const n = await count(page, `from: project_logs('${pid()}') | measures: count(distinct root_span_id) as n | filter: span_attributes.type = '${type}'`);
        check(before[type] === n, `span type counts ${JSON.stringify(before)} (API: ${type} ${n})`);
      }
      const modelFacet = page.getByTestId("facet-metadata.model");
      await modelFacet.getByTestId("facet-value").first().waitFor();
      // A click on the error value filters (Basic tab); the other facets' counts follow.
      const errorValue = page.getByTestId("facet-error").getByTestId("facet-value").filter({ hasText: "ERROR" });
      await errorValue.click();
      await page.waitForURL(/conds=/);
      check(JSON.stringify(JSON.parse(param(page, "conds"))) === '[{"field":"error","op":"is not null","value":""}]', `error condition in the URL: ${page.url()}`);
      const errors = await loaded(page);
      await page.waitForFunction(
        (n) => {
          const el = [...document.querySelectorAll("[data-testid=facet-type] [data-testid=facet-value]")].find((e) => e.textContent.startsWith("llm"));
          return el && Number(el.querySelector(".facet-count").textContent) === n;
        },
        errors,
      );
      // the model counts under the filter sum to the error traces (each trace has one model)
      await page
        .waitForFunction(
          (n) => [...document.querySelectorAll("[data-testid='facet-metadata.model'] [data-testid=facet-count]")].reduce((a, e) => a + Number(e.textContent), 0) === n,
          errors,
          { timeout: 5000 },
        )
        .catch(async () => check(false, `model counts ${await modelFacet.getByTestId("facet-count").allTextContents()} vs ${errors} error traces`));
      check((await page.getByTestId("cond").count()) === 1, "the condition is in the Basic tab");
      check((await page.getByTestId("search").inputValue()) === "error:true", "the search bar shows the facet's condition");
      await shot(page, "facets");
      // A second click removes it.
      await page.getByTestId("facet-error").getByTestId("facet-value").filter({ hasText: "ERROR" }).click();
      await page.waitForFunction(() => !location.hash.includes("conds="));
      // The search bar's tokens are conditions too: the facets show them selected.
      await page.getByTestId("search").fill("type:llm latency:>0.5 model:gpt-4o");
      await page.getByTestId("search").press("Enter");
      await page.waitForURL(/conds=/);
      const conds = JSON.parse(param(page, "conds"));
      const want = [
        { field: "span_attributes.type", op: "=", value: "llm" },
        { field: "metrics.end - metrics.start", op: ">", value: "0.5" },
        { field: "metadata.model", op: "=", value: "gpt-4o" },
      ];
      check(JSON.stringify(conds) === JSON.stringify(want), `bar conditions ${JSON.stringify(conds)}`);
      check(!param(page, "q"), "no words left for the text search");
      const barRows = await loaded(page);
      const apiRows = await count(page, `from: project_logs('${pid()}') | measures: count(distinct root_span_id) as n | filter: span_attributes.type = 'llm' AND metrics.end - metrics.start > 0.5 AND metadata.model = 'gpt-4o'`);
      check(barRows === Math.min(PAGE, apiRows) && apiRows > 0, `bar rows ${barRows}, API ${apiRows}`);
      await typeFacet.locator(".facet-value.on").filter({ hasText: "llm" }).waitFor();
      // A number with an exponent is a number (it was compared as the text '5e-1'), and a
      // value that is not one says so without a place in the query the screen wrote (" at 3:39").
      await page.getByTestId("search").fill("type:llm tokens:>3e2");
      await page.getByTestId("search").press("Enter");
      await page.waitForFunction(() => location.hash.includes(encodeURIComponent('"3e2"')));
      const expRows = await loaded(page);
      const tokens = "coalesce(metrics.total_tokens, metrics.tokens)";
      const apiNumber = await count(page, `from: project_logs('${pid()}') | measures: count(distinct root_span_id) as n | filter: span_attributes.type = 'llm' AND ${tokens} > 300`);
      const apiText = await count(page, `from: project_logs('${pid()}') | measures: count(distinct root_span_id) as n | filter: span_attributes.type = 'llm' AND ${tokens} > '3e2'`);
      check(apiNumber !== apiText, `the seed tells a number from a text: ${apiNumber}`);
      check(expRows === Math.min(PAGE, apiNumber), `rows with tokens:>3e2: ${expRows}, the API's (> 300) ${apiNumber}`);
      await page.getByTestId("search").fill("latency:>abc");
      await page.getByTestId("search").press("Enter");
      const logsError = await page.getByTestId("logs-error").textContent();
      check(logsError.includes("abc") && !/ at \d+:\d+/.test(logsError), `a value that is not a number: ${logsError}`);
      result.not_a_number = logsError;
      await page.getByTestId("search").fill("");
      await page.getByTestId("search").press("Enter");
      await page.waitForFunction(() => !location.hash.includes("conds="));
      // A time range: rows and facets load once, then stay quiet (no reload loop).
      await page.getByTestId("time-range").selectOption("7d");
      await page.waitForURL(/range=7d/);
      await loaded(page);
      await typeFacet.getByTestId("facet-value").first().waitFor();
      await page.waitForTimeout(300);
      let queries = 0;
      const onRequest = (req) => req.url().endsWith("/btql") && queries++;
      page.on("request", onRequest);
      await page.waitForTimeout(1500);
      page.off("request", onRequest);
      check(queries === 0, `${queries} queries while nothing changed`);
      result.facet_errors = errors;
    },

    async assign(page) {
      await signIn(page);
      const reviewer = cfg.reviewer;
      // Assign trace-0021's root span to the reviewer (flags it), trace-0023's to me.
      for (const [trace, who] of [["trace-0021", reviewer], ["trace-0023", "bootstrap"]]) {
        await open(page, "logs", `filter=${encodeURIComponent(`id = '${trace}'`)}&tab=btql`);
        await page.getByTestId("logs-table").getByTestId("row").first().click();
        const select = page.getByTestId("assign-review");
        await select.locator("option", { hasText: who }).first().waitFor({ state: "attached" });
        await select.selectOption(who);
        await page.getByTestId("assigned-to").filter({ hasText: who }).waitFor();
      }
      const items = (await api(page, `v1/review_item?project_id=${pid()}`)).body.objects;
      const byRow = Object.fromEntries(items.map((i) => [i.row_id, i]));
      check(byRow["trace-0021"]?.assignee === reviewer && byRow["trace-0021"].status === "awaiting", `stored ${JSON.stringify(byRow["trace-0021"])}`);
      check(byRow["trace-0023"]?.assignee === "bootstrap", `stored ${JSON.stringify(byRow["trace-0023"])}`);
      // The queue: Assigned to me has mine only; Awaiting has both.
      await open(page, "review", "status=mine");
      const queue = page.getByTestId("review-queue");
      await queue.getByTestId("review-item").filter({ hasText: "trace-0023" }).waitFor();
      check((await queue.getByTestId("review-item").filter({ hasText: "trace-0021" }).count()) === 0, "the reviewer's item is not mine");
      await shot(page, "review-assigned");
      await page.getByTestId("review-awaiting").click();
      await queue.getByTestId("review-item").filter({ hasText: "trace-0021" }).waitFor();
      // The reviewer's own key sees it under Assigned to me.
      const mine = (await api(page, "v1/review_item?assignee=me&status=awaiting", { key: cfg.reviewer_key })).body.objects;
      check(mine.some((i) => i.row_id === "trace-0021") && !mine.some((i) => i.row_id === "trace-0023"), `reviewer's items ${JSON.stringify(mine)}`);
      // The logs view "Assigned to me": exactly the traces assigned to me.
      await open(page, "logs");
      await loaded(page);
      await pickView(page, "Assigned to me");
      const assignedMine = items.filter((i) => i.assignee === "bootstrap" && i.object_type === "project_logs").map((i) => i.root_span_id);
      check((await loaded(page)) === new Set(assignedMine).size, `Assigned to me shows ${assignedMine.length} traces`);
      // Reassign trace-0023 from the queue to the reviewer, then mark trace-0021 reviewed.
      await open(page, "review");
      const row23 = queue.getByTestId("review-item").filter({ hasText: "trace-0023" });
      await row23.getByTestId("review-assignee").selectOption(reviewer);
      // Stored before the tab asks for the queue again (else it may list the old assignment).
      const stored23 = async () => (await api(page, `v1/review_item?project_id=${pid()}&row_id=trace-0023`)).body.objects[0]?.assignee;
      for (let i = 0; i < 50 && (await stored23()) !== reviewer; i++) await page.waitForTimeout(100);
      await page.getByTestId("review-mine").click();
      await queue.getByText("Nothing is assigned to you.").or(queue.getByTestId("review-item").first()).waitFor();
      check((await queue.getByTestId("review-item").filter({ hasText: "trace-0023" }).count()) === 0, "reassigned away from me");
      const item23 = (await api(page, `v1/review_item/${byRow["trace-0023"].id}`)).body;
      check(item23.assignee === reviewer, `reassigned ${JSON.stringify(item23)}`);
      await open(page, "review");
      await queue.getByTestId("review-item").filter({ hasText: "trace-0021" }).getByTestId("review-complete").click();
      await queue.getByTestId("review-item").filter({ hasText: "trace-0021" }).waitFor({ state: "detached" });
      // Unreviewed: every trace but those with a completed review (trace-0021 now); the view
      // is in the URL and combines with a filter.
      const pair = encodeURIComponent("id IN ('trace-0021', 'trace-0022')");
      await open(page, "logs", `view=builtin:unreviewed&filter=${pair}&tab=btql`);
      check((await loaded(page)) === 1, "Unreviewed hides the reviewed trace-0021");
      // trace-0022 asks QUESTIONS[2], trace-0021 QUESTIONS[1] (tests/browser/seed.py)
      const shown = (await page.getByTestId("logs-table").getByTestId("row").first().textContent()) || "";
      check(shown.includes("headphones") && !shown.includes("password"), `trace-0022 is unreviewed: ${shown}`);
      await open(page, "logs", `view=builtin:all&filter=${pair}&tab=btql`);
      check((await loaded(page)) === 2, "both traces without the view");
      await open(page, "logs");
      await loaded(page);
      await pickView(page, "Unreviewed");
      const done = (await api(page, `v1/review_item?project_id=${pid()}&status=completed`)).body.objects.filter((i) => i.object_type === "project_logs");
      const doneTraces = new Set(done.map((i) => i.root_span_id)).size;
      const total = await count(page, logs());
      check((await loaded(page)) === Math.min(PAGE, total - doneTraces), `Unreviewed = ${total} - ${doneTraces}`);
      // Live: a review completed elsewhere takes its trace out of Unreviewed within seconds,
      // and reopening it brings it back.
      const pair23 = encodeURIComponent("id IN ('trace-0022', 'trace-0023')");
      await open(page, "logs", `view=builtin:unreviewed&filter=${pair23}&tab=btql&live=1`);
      check((await loaded(page)) === 2, "trace-0022 and trace-0023 are unreviewed");
      const shownCount = (n) =>
        page.waitForFunction((n) => (document.querySelector("[data-testid=statusbar]")?.textContent || "").startsWith(`${n} `), n, { timeout: 15000 });
      for (const [status, n] of [["completed", 1], ["awaiting", 2]]) {
        const res = await api(page, `v1/review_item/${item23.id}`, { method: "PATCH", body: { status } });
        check(res.status === 200 && res.body.status === status, `${status}: ${JSON.stringify(res.body)}`);
        await shownCount(n);
      }
      result.assigned = item23.assignee;
    },
  };
}
