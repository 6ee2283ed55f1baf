// Group by on the logs screen with saved views and Live mode (driven by
// tests/browser/test_ui_groups.py): a saved view keeps the Group by field and the group picked,
// and in Live mode the groups are asked for again with the table's rows. Each flow works in a
// project of its own. Registered in e2e.mjs, which passes its helpers in.
export function groupViewsFlows({ result, check, signIn, open, api, tableSettled }) {
  const stamp = () => Date.now().toString(36);
  const insert = (page, project, events) => api(page, `v1/project_logs/${project}/insert`, { method: "POST", body: { events } });
  /** One-span traces: [id, tags, metadata.model]. */
  const traces = (prefix, list) =>
    list.map(([t, tags, model], i) => ({
      id: `${prefix}-${t}`,
      span_id: `${prefix}-${t}`,
      root_span_id: `${prefix}-${t}`,
      input: t,
      span_attributes: { name: `${prefix}-root`, type: "task" },
      ...(tags ? { tags } : {}),
      metadata: model ? { model } : {},
      metrics: { start: 1000 + i, end: 1001 + i },
    }));
  const param = (page, name) => new URLSearchParams(new URL(page.url()).hash.split("?")[1] || "").get(name);
  const groupsSettled = (page) =>
    page.waitForFunction(() => {
      const el = document.querySelector("[data-testid=groups]");
      const params = new URLSearchParams(location.hash.split("?")[1] || "").toString();
      return el?.dataset.settled === "1" && el.dataset.params === params;
    });
  /** The groups shown: [value, count] each, and the values of the ones picked. */
  const readGroups = async (page) => {
    await groupsSettled(page);
    return page.getByTestId("group").evaluateAll((rows) =>
      rows.map((r) => [r.querySelector("[data-testid=group-value]").textContent, Number(r.querySelector("[data-testid=group-count]").textContent)]),
    );
  };
  const pickedGroups = (page) => page.locator("[data-testid=group].on [data-testid=group-value]").allTextContents();
  const rowsShown = async (page) => {
    await tableSettled(page);
    return page.getByTestId("logs-table").getByTestId("row").count();
  };
  const clickGroup = async (page, value) => {
    await page.getByTestId("group").filter({ has: page.getByTestId("group-value").getByText(value, { exact: true }) }).click();
    await page.waitForFunction(() => location.hash.includes("gval="));
    return rowsShown(page);
  };
  async function pickView(page, label) {
    const picker = page.getByTestId("view-picker");
    const value = await picker.locator("option", { hasText: label }).first().getAttribute("value");
    await picker.selectOption(value);
    await page.waitForURL(new RegExp(`view=${encodeURIComponent(value).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    await tableSettled(page);
  }
  /** What the screen shows of Group by once the table is drawn for the URL. */
  const groupState = async (page) => {
    await tableSettled(page);
    const panel = (await page.getByTestId("groups").count()) > 0;
    return {
      group: param(page, "group"),
      gval: param(page, "gval"),
      select: await page.getByTestId("group-by").inputValue(),
      groups: panel ? await readGroups(page) : null,
      picked: panel ? await pickedGroups(page) : null,
      rows: await rowsShown(page),
      modified: (await page.getByTestId("update-view").count()) > 0,
    };
  };

  return {
    // A saved view keeps Group by (options.grouping, as Braintrust's views store it) and the
    // group picked (view_data.search.group); All clears them, the view brings them back, an
    // update and the personal default keep them; a view saved without them (as the UI saved
    // them before) opens without Group by and is not "modified".
    async groupviews(page) {
      await signIn(page);
      const project = (await api(page, "v1/project", { method: "POST", body: { name: `ui4 group views ${stamp()}` } })).body.id;
      try {
        const events = traces("gv", [
          ["t1", ["x"], "a"],
          ["t2", ["x"], "b"],
          ["t3", ["y"], "b"],
        ]);
        check((await insert(page, project, events)).status === 200, "traces written");
        // A view as the UI saved them before Group by was kept: the traces tagged y.
        const old = await api(page, "v1/view", {
          method: "POST",
          body: {
            object_type: "project",
            object_id: project,
            view_type: "logs",
            name: "Old tag y",
            view_data: { search: { filter: "", conds: [{ field: "tags", op: "includes", value: "y" }], q: "", range: "", sort: "" } },
            options: { rows: "traces", columns: "" },
          },
        });
        check(old.status === 200, `old view stored: ${JSON.stringify(old.body)}`);
        const table = `object_type=project&object_id=${project}&view_type=logs`;

        // Group by tag, pick x, save.
        await open(page, "logs", "", project);
        await tableSettled(page);
        await page.getByTestId("group-by").selectOption("tags");
        await readGroups(page);
        await clickGroup(page, "x");
        await page.getByTestId("save-view").click();
        await page.getByTestId("view-name").fill("Tag x grouped");
        await page.getByTestId("view-name-ok").click();
        await page.getByTestId("rename-view").waitFor();
        const saved = (await api(page, `v1/view?${table}&view_name=${encodeURIComponent("Tag x grouped")}`)).body.objects;
        check(saved.length === 1, `one view saved: ${JSON.stringify(saved)}`);
        const view = saved[0];
        result.saved = { grouping: view.options.grouping ?? null, group: view.view_data.search.group ?? null };

        // All clears Group by; the saved view brings back the field and the group picked.
        await pickView(page, "All");
        result.all = await groupState(page);
        await pickView(page, "Tag x grouped");
        result.restored = await groupState(page);

        // Another field (the group picked goes): the view is modified; Update stores it.
        await page.getByTestId("group-by").selectOption("metadata.model");
        await page.waitForFunction(() => !location.hash.includes("gval="));
        await page.getByTestId("update-view").waitFor();
        await page.getByTestId("update-view").click();
        await page.getByTestId("update-view").waitFor({ state: "detached" });
        const updated = (await api(page, `v1/view/${view.id}`)).body;
        result.updated = { grouping: updated.options.grouping ?? null, group: updated.view_data.search.group ?? null };

        // My default: the screen opened without state groups by model.
        await page.getByTestId("default-view").click();
        await page.getByTestId("default-view").filter({ hasText: "My default" }).waitFor();
        await open(page, "experiments", "", project);
        await open(page, "logs", "", project);
        await page.waitForURL(new RegExp(`view=${view.id}`));
        result.fromDefault = await groupState(page);

        // The old view: its filter, no Group by, not modified.
        await pickView(page, "Old tag y");
        result.oldView = await groupState(page);
        result.oldViewConds = JSON.parse(param(page, "conds"));
      } finally {
        await api(page, "v1/view_default", { method: "PUT", body: { object_type: "project", object_id: project, view_type: "logs", view_id: null } });
        await api(page, `v1/project/${project}`, { method: "DELETE" });
      }
    },

    // Live mode with Group by: a trace logged meanwhile is counted in its group, also in a
    // group other than the one picked (the table's rows do not change then); the groups are
    // asked for again when the table's rows are (every 3 s), not more often.
    async groupslive(page) {
      await signIn(page);
      const project = (await api(page, "v1/project", { method: "POST", body: { name: `ui4 groups live ${stamp()}` } })).body.id;
      try {
        check((await insert(page, project, traces("gl", [["t1", ["x"]], ["t2", ["y"]]]))).status === 200, "traces written");
        // The BTQL requests of the table's first page and of the groups.
        const tableQuery = `from: project_logs('${project}') summary\nselect: *`;
        const queryOf = (r) => {
          if (r.method() !== "POST" || !r.url().endsWith("/btql")) return "";
          try {
            return JSON.parse(r.postData() || "{}").query || "";
          } catch {
            return "";
          }
        };
        const isTable = (r) => queryOf(r).startsWith(tableQuery) && !queryOf(r).includes("cursor:");
        const isGroups = (r) => queryOf(r).includes(`project_logs('${project}')`) && queryOf(r).includes("dimensions: tags as value");
        const counts = { table: 0, groups: 0 };
        page.on("requestfinished", (r) => isTable(r) && counts.table++);
        page.on("request", (r) => isGroups(r) && counts.groups++);
        const groupCount = (value, n) =>
          page.waitForFunction(
            ([v, n]) => document.querySelector(`[data-testid=groups] [data-testid=group][data-value='${JSON.stringify(v)}'] [data-testid=group-count]`)?.textContent === String(n),
            [value, n],
          );

        await open(page, "logs", "group=tags&live=1", project);
        result.before = await readGroups(page);

        // A trace tagged x logged meanwhile: in the table, and counted in x.
        check((await insert(page, project, traces("gl", [["t3", ["x"]]]))).status === 200, "t3 written");
        await page.waitForFunction(() => document.querySelectorAll("[data-testid=logs-table] [data-testid=row]").length === 3);
        await groupCount("x", 2);
        result.afterInsert = await readGroups(page);

        // Group y picked: a trace tagged x leaves the table as it is; its group counts it.
        result.pickedRows = await clickGroup(page, "y");
        check((await insert(page, project, traces("gl", [["t4", ["x"]]]))).status === 200, "t4 written");
        await groupCount("x", 3);
        result.afterInsertPicked = await readGroups(page);
        result.pickedRowsAfter = await rowsShown(page);
        result.refreshed = Number(await page.getByTestId("groups").getAttribute("data-refresh")) > 0;

        // Not more often than the table: over three of its refetches, at most one groups
        // request each (one more: the table's refetch just before the count started).
        const t0 = counts.table;
        const g0 = counts.groups;
        for (let i = 0; i < 3; i++) await page.waitForEvent("requestfinished", { predicate: isTable });
        const tables = counts.table - t0;
        const groups = counts.groups - g0;
        result.refetches = { tables: tables >= 3, groupsAsked: groups >= 1, notMoreOften: groups <= tables + 1, counts: [tables, groups] };
      } finally {
        await api(page, `v1/project/${project}`, { method: "DELETE" });
      }
    },
  };
}
