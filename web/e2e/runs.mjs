// Browser flow of a dataset's Runs panel: the chart and table against the server's
// experiments, a time range dragged on the chart (kept in the URL, then cleared), a Basic and an
// SQL filter (and a broken one's error), and one row's runs (experiment rows whose origin is the
// row) checked against BTQL. Registered in e2e.mjs, which passes its helpers in.

export function runsFlows({ cfg, result, check, shot, signIn, open, api }) {
  const names = async (page) => (await page.getByTestId("dataset-run").locator("td:first-child").allTextContents()).map((t) => t.trim());
  const waitRuns = (page, n) =>
    page.waitForFunction((n) => document.querySelectorAll("[data-testid=dataset-run]").length === n, n);

  return {
    async runs(page) {
      const pid = cfg.data.runs_project_id;
      const dsId = cfg.data.runs_dataset_id;
      await signIn(page);
      const exps = (await api(page, `v1/experiment?project_id=${pid}&limit=1000`)).body.objects.filter((e) => e.dataset_id === dsId);
      check(exps.length === 3, `three experiments on the dataset: ${exps.length}`);

      // Chart and table: one point per experiment and score, one table row per experiment.
      await open(page, `datasets/${dsId}`, "tab=runs", pid);
      await waitRuns(page, 3);
      const points = page.getByTestId("runs-point");
      const charted = new Set(await points.evaluateAll((els) => els.map((e) => e.getAttribute("data-run"))));
      check(charted.size === 3 && exps.every((e) => charted.has(e.id)), `every experiment is charted: ${[...charted]}`);
      check((await points.count()) === 6, `two scores per experiment: ${await points.count()}`);
      const tableIds = await page.getByTestId("dataset-run").evaluateAll((els) => els.map((e) => e.getAttribute("data-id")));
      check(JSON.stringify([...tableIds].sort()) === JSON.stringify(exps.map((e) => e.id).sort()), `the table lists the experiments ${tableIds}`);
      result.charted = charted.size;

      // Drag from left of the chart to between the last two points: the last one drops out.
      const xs = await points.evaluateAll((els) => els.map((e) => [e.getAttribute("data-run"), e.getBoundingClientRect().x + e.getBoundingClientRect().width / 2]));
      const byRun = Object.fromEntries(xs);
      const ordered = [...exps].sort((a, b) => (a.created < b.created ? -1 : 1));
      const box = await page.getByTestId("runs-chart-svg").boundingBox();
      const cut = (byRun[ordered[1].id] + byRun[ordered[2].id]) / 2;
      await page.mouse.move(box.x + 46, box.y + 60);
      await page.mouse.down();
      await page.mouse.move(box.x + 120, box.y + 80, { steps: 3 });
      await page.mouse.move(cut, box.y + 80, { steps: 5 });
      await page.mouse.up();
      await page.waitForURL(/rfrom=.*rto=/);
      await waitRuns(page, 2);
      const inRange = await names(page);
      check(!inRange.includes(ordered[2].name), `the last experiment is out of the range: ${inRange}`);
      result.in_range = inRange.length;
      await shot(page, "dataset-runs");
      const url = new URL(page.url().replace("#/", "x/"), "http://h");
      const to = url.searchParams.get("rto");
      check(Date.parse(to) > Date.parse(ordered[1].created) && Date.parse(to) < Date.parse(ordered[2].created), `rto between the runs: ${to}`);
      // The range survives a reload (URL state); then clear it.
      await page.reload();
      await waitRuns(page, 2);
      await page.getByTestId("runs-selection").waitFor();
      await page.getByTestId("runs-clear-range").click();
      await waitRuns(page, 3);
      check(!page.url().includes("rfrom="), "clear removes the range");

      // Basic: correct ≥ 80 % keeps run-c only.
      await page.getByTestId("runs-score").selectOption("correct");
      await page.getByTestId("runs-value").fill("80");
      await page.getByTestId("runs-apply").click();
      await page.waitForURL(/rscore=correct.*rval=80|rval=80.*rscore=correct/);
      await waitRuns(page, 1);
      result.basic = await names(page);
      await page.getByTestId("runs-clear-filter").click();
      await waitRuns(page, 3);

      // SQL: a broken condition shows its error; a good one filters.
      await page.getByTestId("runs-tab-sql").click();
      await page.getByTestId("runs-sql").fill("scores.correct >=");
      await page.getByTestId("runs-apply").click();
      await page.getByTestId("runs-filter-error").waitFor();
      await page.getByTestId("runs-sql").fill("metadata.model = 'gpt-4o' AND scores.correct > 0.5 AND name LIKE 'run-%'");
      await page.getByTestId("runs-apply").click();
      await page.waitForURL(/rtab=sql.*rsql=/);
      await waitRuns(page, 1);
      result.sql = await names(page);
      check((await page.getByTestId("runs-filter-error").count()) === 0, "no error for a good filter");
      // Three-valued logic, as in BTQL: a comparison with a missing score is unknown, NOT unknown
      // is unknown, so only the OR's known-true side keeps a run.
      await page.getByTestId("runs-sql").fill("NOT scores.nosuch > 0.5 OR name = 'run-a'");
      await page.getByTestId("runs-apply").click();
      await page.waitForFunction(() => [...document.querySelectorAll("[data-testid=dataset-run] td:first-child")].map((t) => t.textContent.trim()).join() === "run-a");

      // One row's runs: open row g1's editor; its runs match BTQL over the experiments.
      await open(page, `datasets/${dsId}`, "", pid);
      await page.getByTestId("dataset-rows").getByTestId("row").filter({ hasText: "reset my password" }).click();
      await page.waitForURL(/row=g1/);
      const editor = page.getByTestId("row-editor");
      const runRows = editor.getByTestId("row-run");
      await runRows.nth(2).waitFor();
      const shown = await runRows.evaluateAll((els) =>
        els.map((e) => ({ exp: e.getAttribute("data-experiment"), id: e.getAttribute("data-id"), scores: e.querySelector("[data-testid=row-run-scores]").textContent })),
      );
      const expected = (
        await api(page, "btql", {
          method: "POST",
          body: {
            query: `select: id, experiment_id, scores | from: experiment(${exps.map((e) => `'${e.id}'`).join(", ")}) | filter: origin.object_type = 'dataset' AND origin.object_id = '${dsId}' AND origin.id = 'g1'`,
          },
        })
      ).body.data;
      check(shown.length === expected.length, `${shown.length} runs shown, ${expected.length} in BTQL`);
      for (const r of expected) {
        const s = shown.find((x) => x.exp === r.experiment_id && x.id === r.id);
        check(s, `row ${r.id} of ${r.experiment_id} shown`);
        for (const [n, v] of Object.entries(r.scores)) check(s.scores.includes(`${n} ${(v * 100).toFixed(1)}%`), `${n} of ${r.id}: ${s.scores}`);
      }
      result.row_runs = shown.map((s) => s.id);
      await editor.scrollIntoViewIfNeeded();
      await editor.getByTestId("row-runs").scrollIntoViewIfNeeded();
      await shot(page, "dataset-row-runs");
      // Its link opens the experiment's trace.
      await runRows.first().getByTestId("row-run-trace").click();
      await page.waitForURL(/experiments\/.*trace=/);
      // An experiment's details name the baseline the server compares it with (run-c has no
      // base_exp_id: the previous experiment, run-b) and the dataset version it is pinned to.
      const xact = (await api(page, "btql", { method: "POST", body: { query: `select: _xact_id | from: dataset('${dsId}') | limit: 1` } })).body.data[0]._xact_id;
      const pinned = await api(page, `v1/experiment/${ordered[2].id}`, { method: "PATCH", body: { dataset_version: xact } });
      check(pinned.status === 200, `pinned: ${JSON.stringify(pinned.body)}`);
      await open(page, `experiments/${ordered[2].id}`, "", pid);
      await page.reload(); // (the trace link may have opened this experiment: read it again)
      const details = page.getByTestId("experiment-details");
      await details.getByTestId("experiment-baseline").getByText(`baseline ${ordered[1].name}`).waitFor();
      await details.getByTestId("experiment-dataset-version").getByText(`version ${xact}`).waitFor();
    },
  };
}
