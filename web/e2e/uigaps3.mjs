// Gaps of the web UI found against ui-features.md (driven by tests/browser/test_ui_gaps3.py), one
// flow each. Registered in e2e.mjs, which passes its helpers in.
export function uiGaps3Flows({ cfg, result, check, signIn, open, api, tableSettled }) {
  const pid = () => cfg.data.project_id;
  const stamp = () => Date.now().toString(36);
  const insert = (page, project, events) => api(page, `v1/project_logs/${project}/insert`, { method: "POST", body: { events } });
  const storedComments = async (page, row) => {
    const res = await api(page, "btql", { method: "POST", body: { query: `select: comments | from: project_logs('${pid()}') | filter: id = '${row}'` } });
    return (res.body.data[0].comments || []).map((c) => ({ text: c.comment.text, user_id: c.user_id, created: c.created }));
  };
  const signInAs = async (page, key) => {
    await page.goto(cfg.url + "/#/login");
    await page.getByTestId("api-key").fill(key);
    await page.getByTestId("sign-in").click();
    await page.waitForURL(/#\/p\/[^/]+\/logs/);
  };
  const openRow = async (page, row) => {
    await open(page, "logs", `filter=${encodeURIComponent(`id = '${row}'`)}&tab=btql`);
    await tableSettled(page);
    await page.getByTestId("logs-table").getByTestId("row").first().click();
    return page.getByTestId("span-detail").getByTestId("comments");
  };

  return {
    // A comment edited from the span detail (there was no edit: delete and write again, which
    // lost its author and time): the text is replaced in place, its author and creation time
    // kept, also when another key edits it; a blank text cannot be saved; an edit the server
    // refuses (a read-only key) shows the server's message and the stored text stays.
    async commentedit(page) {
      await signIn(page);
      const row = `ui3-comment-${stamp()}`;
      check((await insert(page, pid(), [{ id: row, span_id: row, root_span_id: row, input: "q", output: "a", span_attributes: { name: "ui3-comment", type: "task" } }])).status === 200, "row written");
      const fb = await api(page, `v1/project_logs/${pid()}/feedback`, { method: "POST", body: { feedback: [{ id: row, comment: "first words" }] } });
      check(fb.status === 200, "comment written");
      const [before] = await storedComments(page, row);
      result.before = before;

      let comments = await openRow(page, row);
      // One trace of one span is counted in the singular ("1 traces loaded", "· 1 spans").
      const bar = await page.getByTestId("statusbar").textContent();
      check(bar.startsWith("1 trace loaded"), `the status bar: ${bar}`);
      await page.getByTestId("trace-panel").locator(".trace-head").getByText(/· 1 span(?!s)/).waitFor();
      let comment = comments.getByTestId("comment").first();
      await comment.getByTestId("comment-text").filter({ hasText: "first words" }).waitFor();
      await comment.getByTestId("comment-edit").click();
      const input = comment.getByTestId("comment-edit-input");
      check((await input.inputValue()) === "first words", "the editor starts from the stored text");
      await input.fill("   ");
      result.blankDisabled = await comment.getByTestId("comment-edit-save").isDisabled();
      await input.fill("second words");
      await comment.getByTestId("comment-edit-save").click();
      await comments.getByTestId("comment-text").filter({ hasText: "second words" }).waitFor();
      check((await comments.getByTestId("comment-edit-input").count()) === 0, "the editor closes");
      result.afterEdit = await storedComments(page, row);
      result.shownAuthor = await comments.getByTestId("comment-author").first().textContent();

      // Another key (another user) edits it: the author stays the one who wrote it.
      await signInAs(page, cfg.write_key);
      comments = await openRow(page, row);
      comment = comments.getByTestId("comment").first();
      await comment.getByTestId("comment-text").filter({ hasText: "second words" }).waitFor();
      await comment.getByTestId("comment-edit").click();
      await comment.getByTestId("comment-edit-input").fill("third words");
      await comment.getByTestId("comment-edit-save").click();
      await comments.getByTestId("comment-text").filter({ hasText: "third words" }).waitFor();
      result.afterOtherKey = await storedComments(page, row);
      result.shownAuthorAfterOtherKey = await comments.getByTestId("comment-author").first().textContent();

      // A read-only key's edit is refused: the server's message, the stored text unchanged.
      await signInAs(page, cfg.read_key);
      comments = await openRow(page, row);
      comment = comments.getByTestId("comment").first();
      await comment.getByTestId("comment-text").filter({ hasText: "third words" }).waitFor();
      await comment.getByTestId("comment-edit").click();
      await comment.getByTestId("comment-edit-input").fill("refused words");
      await comment.getByTestId("comment-edit-save").click();
      result.refused = await comment.getByTestId("comment-edit-error").textContent();
      result.afterRefused = await storedComments(page, row);
      // Cancel shows the stored text again.
      await comment.getByTestId("comment-edit-cancel").click();
      result.shownAfterCancel = await comments.getByTestId("comment-text").first().textContent();

      // Another user deletes the comment while this one edits it: the edit (a merge) is
      // refused with the server's message, and does not bring the comment back.
      await signInAs(page, cfg.write_key);
      comments = await openRow(page, row);
      comment = comments.getByTestId("comment").first();
      await comment.getByTestId("comment-text").filter({ hasText: "third words" }).waitFor();
      await comment.getByTestId("comment-edit").click();
      await comment.getByTestId("comment-edit-input").fill("late words");
      const found = await api(page, "btql", { method: "POST", body: { query: `select: comments | from: project_logs('${pid()}') | filter: id = '${row}'` } });
      const commentId = found.body.data[0].comments[0].id;
      const deleted = await api(page, `v1/project_logs/${pid()}/insert`, { method: "POST", body: { events: [{ id: commentId, _object_delete: true }] } });
      check(deleted.status === 200, "comment deleted by another user");
      await comment.getByTestId("comment-edit-save").click();
      result.refusedDeleted = await comment.getByTestId("comment-edit-error").textContent();
      result.afterDeleted = await storedComments(page, row);
    },

    // The review queue's tabs with their counts (there were none): the server's counts, equal
    // to what each tab lists; a span flagged from its trace adds one to Awaiting; Mark reviewed
    // moves one from Awaiting to Completed at once; one assigned to me counts under Assigned to
    // me; an item added meanwhile (through the API) is counted when the tab changes.
    async reviewcounts(page) {
      await signIn(page);
      const s = stamp();
      const row = `ui3-queue-${s}`;
      check((await insert(page, pid(), [{ id: row, span_id: row, root_span_id: row, input: "review me", span_attributes: { name: `ui3-queue-${s}`, type: "task" } }])).status === 200, "row written");
      const shown = async () => {
        const out = {};
        for (const tab of ["awaiting", "mine", "completed"]) out[tab] = Number((await page.getByTestId(`review-count-${tab}`).textContent()).replace(/,/g, ""));
        return out;
      };
      const serverCounts = async () => {
        const c = (await api(page, `v1/review_item_counts?project_id=${pid()}`)).body;
        return { awaiting: c.awaiting, mine: c.assigned_to_me, completed: c.completed };
      };
      const waitCounts = async (want) => {
        await page.waitForFunction((want) => Object.entries(want).every(([tab, n]) => document.querySelector(`[data-testid=review-count-${tab}]`)?.textContent.replace(/,/g, "") === String(n)), want);
      };
      const listed = async (tab) => {
        await page.getByTestId(`review-${tab}`).click();
        await page.waitForFunction((tab) => (tab === "awaiting" ? !/status=/.test(location.hash) : location.hash.includes(`status=${tab}`)), tab);
        const want = (await api(page, `v1/review_item?project_id=${pid()}${tab === "completed" ? "&status=completed" : "&status=awaiting"}${tab === "mine" ? "&assignee=me" : ""}`)).body.objects.length;
        if (want === 0) await page.locator(".empty").waitFor();
        else await page.waitForFunction((n) => document.querySelectorAll("[data-testid=review-item]").length === n, want);
        return want;
      };

      await open(page, "review");
      const start = await serverCounts();
      await waitCounts(start);
      result.start = { shown: await shown(), server: start };
      result.listed = {};
      for (const tab of ["mine", "completed", "awaiting"]) result.listed[tab] = await listed(tab);

      // Flag the span from its trace, then open the queue.
      await open(page, "logs", `filter=${encodeURIComponent(`id = '${row}'`)}&tab=btql`);
      await tableSettled(page);
      await page.getByTestId("logs-table").getByTestId("row").first().click();
      await page.getByTestId("flag-for-review").click();
      await page.getByTestId("review-state").waitFor();
      await open(page, "review");
      const flagged = { ...start, awaiting: start.awaiting + 1 };
      await waitCounts(flagged);
      result.afterFlag = await shown();

      // Assign it to me in the queue, then mark it reviewed: the counts follow at once.
      const item = page.getByTestId("review-item").filter({ hasText: `ui3-queue-${s}` });
      const me = (await api(page, "v1/user")).body.objects.find((u) => u.is_me).name;
      await item.getByTestId("review-assignee").selectOption(me);
      await waitCounts({ ...flagged, mine: flagged.mine + 1 });
      result.afterAssign = await shown();
      await item.getByTestId("review-complete").click();
      await item.waitFor({ state: "detached" });
      await waitCounts({ awaiting: start.awaiting, mine: start.mine, completed: start.completed + 1 });
      result.afterComplete = await shown();

      // An item added meanwhile by someone else is counted when the list is read again.
      const other = await api(page, "v1/review_item", { method: "POST", body: { object_type: "project_logs", object_id: pid(), row_id: `ui3-queue-other-${s}` } });
      check(other.status === 200, "flagged through the API");
      await page.getByTestId("review-completed").click();
      await waitCounts({ awaiting: start.awaiting + 1, mine: start.mine, completed: start.completed + 1 });
      result.afterApiFlag = await shown();
      result.end = await serverCounts();
      result.listedEnd = {};
      for (const tab of ["mine", "completed", "awaiting"]) result.listedEnd[tab] = await listed(tab);
      // Leave the queue as it was for the other flows.
      const items = (await api(page, `v1/review_item?project_id=${pid()}`)).body.objects.filter((i) => i.row_id.startsWith("ui3-queue-"));
      for (const i of items) await api(page, `v1/review_item/${i.id}`, { method: "DELETE" });
    },

    // Group by on the logs screen (there was none): a project of its own with five traces;
    // grouped by tag, by metadata.model, by span name in Spans mode and under a filter, each
    // group's count, score average, tokens and cost as the server's BTQL groups them; a click
    // on a group keeps the table to its rows (the same number), a second click shows all again.
    async logsgroups(page) {
      await signIn(page);
      const created = await api(page, "v1/project", { method: "POST", body: { name: `ui3 groups ${stamp()}` } });
      const project = created.body.id;
      const traces = [
        ["t1", ["x"], "a", 1, 100, 0.01],
        ["t2", ["x", "y"], "a", 0, 50, 0.02],
        ["t3", ["y"], "b", 0.5, 10, 0.001],
        ["t4", null, "b", null, 5, null],
        ["t5", null, null, 1, 1, null],
      ];
      const events = [];
      traces.forEach(([t, tags, model, q, tokens, cost], i) => {
        const metadata = model ? { model } : {};
        const root = { id: `g-${t}`, span_id: `g-${t}`, root_span_id: `g-${t}`, input: t, span_attributes: { name: "g-root", type: "task" }, metadata, metrics: { start: 1000 + i, end: 1002 + i } };
        if (tags) root.tags = tags;
        if (q !== null) root.scores = { q };
        const llm = { id: `g-${t}-llm`, span_id: `g-${t}-llm`, root_span_id: `g-${t}`, span_parents: [`g-${t}`], span_attributes: { name: "g-llm", type: "llm" }, metadata, metrics: { start: 1000.5 + i, end: 1001 + i, total_tokens: tokens, ...(cost ? { estimated_cost: cost } : {}) } };
        events.push(root, llm);
      });
      check((await insert(page, project, events)).status === 200, "traces written");

      const groupsSettled = () =>
        page.waitForFunction(() => {
          const el = document.querySelector("[data-testid=groups]");
          const params = new URLSearchParams(location.hash.split("?")[1] || "").toString();
          return el?.dataset.settled === "1" && el.dataset.params === params;
        });
      const readGroups = async () => {
        await groupsSettled();
        return page.getByTestId("group").evaluateAll((rows) =>
          rows.map((r) => {
            const cell = (id) => r.querySelector(`[data-testid=${id}]`)?.textContent ?? null;
            return { value: cell("group-value"), n: Number(cell("group-count")), q: cell("group-score-q"), tokens: cell("group-tokens"), cost: cell("group-cost") };
          }),
        );
      };
      const rowsShown = async () => {
        await tableSettled(page);
        return page.getByTestId("logs-table").getByTestId("row").count();
      };
      const clickGroup = async (value) => {
        await page.getByTestId("group").filter({ has: page.getByTestId("group-value").getByText(value, { exact: true }) }).click();
        await page.waitForFunction(() => location.hash.includes("gval="));
        await groupsSettled();
        return rowsShown();
      };
      const unclickGroup = async (value) => {
        await page.getByTestId("group").filter({ has: page.getByTestId("group-value").getByText(value, { exact: true }) }).click();
        await page.waitForFunction(() => !location.hash.includes("gval="));
        return rowsShown();
      };

      // Traces by tag, chosen in the toolbar.
      await open(page, "logs", "", project);
      await tableSettled(page);
      await page.getByTestId("group-by").selectOption("tags");
      result.byTag = await readGroups();
      result.byTagRows = { x: await clickGroup("x") };
      result.byTagGval = new URLSearchParams(page.url().split("?")[1]).get("gval");
      result.byTagRows.all = await unclickGroup("x");
      result.byTagRows.y = await clickGroup("y");
      await unclickGroup("y");

      // Traces by model: the traces without one are a group of their own.
      await page.getByTestId("group-by").selectOption("metadata.model");
      result.byModel = await readGroups();
      result.byModelRows = { none: await clickGroup("(none)") };
      await unclickGroup("(none)");
      result.byModelRows.b = await clickGroup("b");
      await unclickGroup("b");

      // Spans by span name.
      await page.getByTestId("rows-spans").click();
      await page.getByTestId("group-by").selectOption("name");
      result.bySpanName = await readGroups();
      result.bySpanNameRows = { "g-llm": await clickGroup("g-llm") };
      await unclickGroup("g-llm");

      // Traces by tag under a Basic condition (metadata.model = b): the server groups the rows
      // the filter keeps.
      await open(page, "logs", `group=tags&conds=${encodeURIComponent(JSON.stringify([{ field: "metadata.model", op: "=", value: "b" }]))}`, project);
      result.byTagFiltered = await readGroups();
      result.byTagFilteredRows = { y: await clickGroup("y") };
      await api(page, `v1/project/${project}`, { method: "DELETE" });
    },
    // An experiment's details name its scorers (there were none: the Details pane of
    // ui-features.md lists them), each with its average and its difference from the baseline's
    // as the server's summary gives them, and its dataset by name (the link said "dataset").
    async experimentdetails(page) {
      await signIn(page);
      const s = stamp();
      const project = (await api(page, "v1/project", { method: "POST", body: { name: `ui3 details ${s}` } })).body.id;
      const dataset = (await api(page, "v1/dataset", { method: "POST", body: { project_id: project, name: `ui3 questions ${s}` } })).body;
      const experiment = async (name, scores) => {
        const exp = (await api(page, "v1/experiment", { method: "POST", body: { project_id: project, name, dataset_id: dataset.id } })).body;
        const events = scores.map((sc, i) => ({ id: `${name}-${i}`, input: `q${i}`, output: "a", scores: sc }));
        check((await api(page, `v1/experiment/${exp.id}/insert`, { method: "POST", body: { events } })).status === 200, "rows written");
        return exp;
      };
      await experiment(`ui3-base-${s}`, [{ accuracy: 0.5, fluency: 1 }, { accuracy: 0.5, fluency: 1 }]);
      const exp = await experiment(`ui3-cand-${s}`, [{ accuracy: 1, fluency: 1 }, { accuracy: 0.5, fluency: 1 }, { accuracy: 0, fluency: 1 }, { accuracy: 1, fluency: 1 }]);
      result.summary = (await api(page, `v1/experiment/${exp.id}/summarize`)).body.scores;
      await open(page, `experiments/${exp.id}`, "", project);
      const details = page.getByTestId("experiment-details");
      await details.getByTestId("experiment-scorers").waitFor();
      result.scorers = await details.getByTestId("experiment-scorer").evaluateAll((els) =>
        els.map((e) => ({
          name: e.querySelector("[data-testid=scorer-name]").textContent,
          score: e.querySelector("[data-testid=scorer-score]").textContent,
          diff: e.querySelector("[data-testid=scorer-diff]")?.textContent.trim() ?? null,
        })),
      );
      await details.getByTestId("experiment-dataset").getByText(`dataset ui3 questions ${s}`).waitFor();
      result.datasetHref = await details.getByTestId("experiment-dataset").getAttribute("href");
      result.datasetId = dataset.id;
      await api(page, `v1/project/${project}`, { method: "DELETE" });
    },

    // The compare screen's "Make project default" and "Save as the project's key" write only
    // the setting they change: each sent the whole settings object the page had loaded, so a
    // setting changed meanwhile elsewhere (another tab, the API) was put back.
    async settingswrites(page) {
      await signIn(page);
      const s = stamp();
      const project = (await api(page, "v1/project", { method: "POST", body: { name: `ui3 settings ${s}` } })).body.id;
      try {
        const url = `v1/project/${project}`;
        const experiment = async (name) => {
          const exp = (await api(page, "v1/experiment", { method: "POST", body: { project_id: project, name } })).body;
          const events = [{ id: `${name}-0`, input: "q0", output: "a", scores: { accuracy: 1 } }];
          check((await api(page, `v1/experiment/${exp.id}/insert`, { method: "POST", body: { events } })).status === 200, "rows written");
          return exp.id;
        };
        const [a, b, cand] = [await experiment(`sw-a-${s}`), await experiment(`sw-b-${s}`), await experiment(`sw-cand-${s}`)];
        check((await api(page, url, { method: "PATCH", body: { settings: { comparison_key: "metadata.first" } } })).status === 200, "a key");
        await open(page, "experiments/compare", `exp=${cand}&base=${a}`, project);
        await page.getByTestId("compare-table").getByTestId("row").first().waitFor();
        await page.getByTestId("make-project-baseline").waitFor();
        // Another tab saves a comparison key; this page makes its baseline the default.
        check((await api(page, url, { method: "PATCH", body: { settings: { comparison_key: "metadata.second" } } })).status === 200, "key saved elsewhere");
        await page.getByTestId("make-project-baseline").click();
        await page.getByTestId("project-baseline").waitFor();
        result.afterDefault = (await api(page, url)).body.settings;
        // Another tab makes another experiment the default; this page saves its key.
        check((await api(page, url, { method: "PATCH", body: { settings: { baseline_experiment_id: b } } })).status === 200, "default set elsewhere");
        await page.getByTestId("compare-key").fill("metadata.case");
        await page.getByTestId("compare-key").press("Enter");
        await page.waitForURL(/key=metadata\.case/);
        await page.getByTestId("save-compare-key").click();
        await page.getByTestId("save-compare-key").waitFor({ state: "detached" });
        result.afterKey = (await api(page, url)).body.settings;
        result.a = a;
        result.b = b;
      } finally {
        await api(page, `v1/project/${project}`, { method: "DELETE" });
      }
    },
  };
}
