// Group by on the logs screen with saved views (driven by tests/browser/test_ui_groups.py): a
// saved view keeps the Group by field and the group picked. Each flow works in a project of its
// own. Registered in e2e.mjs, which passes its helpers in.
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
  };
}
