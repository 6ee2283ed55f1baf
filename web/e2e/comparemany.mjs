// The compare screen with more than two experiments (driven by tests/browser/test_ui_comparemany.py):
// a baseline and two experiments picked in the list, compared; the flow reports what the
// screen shows (summary cards, table deltas, filters, sort, diff mode), which the test checks
// against values it computes. Registered in e2e.mjs, which passes its helpers in.
export function compareManyFlows({ cfg, result, check, shot, signIn, open, api, columnTexts }) {
  const rows = (page) => page.getByTestId("compare-table").getByTestId("row");
  const waitRows = (page, n) =>
    page.waitForFunction((n) => document.querySelectorAll("[data-testid=compare-table] [data-testid=row]").length === n, n);
  const urlParams = (page) => page.evaluate(() => Object.fromEntries(new URLSearchParams(location.hash.split("?")[1] || "")));

  return {
    async comparemany(page) {
      await signIn(page);
      const project = (await api(page, "v1/project", { method: "POST", body: { name: `zz-compare-many-${Date.now().toString(36)}` } })).body;
      try {
        const ids = {};
        for (const [name, runs] of Object.entries(cfg.experiments)) {
          const exp = await api(page, "v1/experiment", { method: "POST", body: { project_id: project.id, name, ensure_new: true } });
          check(exp.status === 200, `experiment: ${JSON.stringify(exp.body)}`);
          ids[name] = exp.body.id;
          const events = runs.map((r) => ({ input: r.input, output: r.output, scores: r.scores, metrics: { start: 1000, end: 1000 + r.duration } }));
          const inserted = await api(page, `v1/experiment/${exp.body.id}/insert`, { method: "POST", body: { events } });
          check(inserted.status === 200, `insert: ${JSON.stringify(inserted.body)}`);
        }
        result.ids = ids;
        // The list: the three picked, the baseline first (the oldest: the default).
        await open(page, "experiments", "", project.id);
        const list = page.getByTestId("experiments-table");
        await page.waitForFunction(() => document.querySelectorAll("[data-testid=experiments-table] [data-testid=row]").length === 3);
        const names = await columnTexts(page, "experiments-table", "name");
        for (const name of ["base", "v2", "v3"]) {
          const i = names.findIndex((n) => n.startsWith(name));
          await list.getByTestId("row").nth(i).getByTestId("pick-experiment").check();
        }
        const compare = page.getByTestId("compare");
        result.button = await compare.textContent();
        result.badge = await list.getByTestId("row").filter({ has: page.getByTestId("picked-baseline") }).textContent();
        await compare.click();
        await page.waitForURL(/compare/);
        result.url = await urlParams(page);

        const settled = async (n) => {
          await waitRows(page, n);
          await page.getByTestId("compare-summary").waitFor();
          await page.waitForFunction(() => document.querySelectorAll("[data-testid=compare-summary-exp] [data-testid=score-card]").length > 0);
        };
        const summary = () =>
          page.evaluate(() =>
            [...document.querySelectorAll("[data-testid=compare-summary-exp]")].map((g) => ({
              exp: g.getAttribute("data-exp"),
              name: g.querySelector("[data-testid=compare-summary-name]")?.textContent ?? null,
              scores: Object.fromEntries(
                [...g.querySelectorAll("[data-testid=score-card]")].map((c) => [
                  c.getAttribute("data-score"),
                  {
                    avg: c.querySelector("[data-testid=score-avg]").textContent,
                    diff: c.querySelector("[data-testid=score-diff]").textContent,
                    improvements: c.querySelector("[data-testid=filter-improved]").textContent,
                    regressions: c.querySelector("[data-testid=filter-regressed]").textContent,
                  },
                ]),
              ),
              metrics: Object.fromEntries(
                [...g.querySelectorAll("[data-testid=metric-card]")].map((c) => [c.getAttribute("data-metric"), c.querySelector("[data-testid=metric-diff]").textContent]),
              ),
            })),
          );
        const table = async () => {
          const cols = {};
          for (const id of ["input", "base_output", "output", "d:acc", "x1.output", "x1.d:acc", "regressions"]) cols[id] = await columnTexts(page, "compare-table", id);
          return cols;
        };
        const headers = () => page.getByTestId("compare-table").locator(".thead .th").evaluateAll((els) => els.map((e) => [e.getAttribute("data-col"), e.textContent]));
        await settled(5);
        result.summary = await summary();
        result.table = await table();
        result.headers = await headers();
        await shot(page, "compare-many");

        // Filters: regressed in one experiment (its card), then in any of them (a link).
        const group = (id) => page.locator(`[data-testid=compare-summary-exp][data-exp="${id}"]`);
        await group(ids.v2).getByTestId("score-card").filter({ hasText: "acc" }).getByTestId("filter-regressed").click();
        await page.waitForFunction(() => new URLSearchParams(location.hash.split("?")[1]).get("only") === "regressed:acc");
        result.filterUrl = await urlParams(page);
        await page.getByTestId("compare-only").waitFor();
        result.onlyText = await page.getByTestId("compare-only").textContent();
        await page.waitForFunction(() => document.querySelectorAll("[data-testid=compare-table] [data-testid=row]").length < 5);
        result.regressedInV2 = await columnTexts(page, "compare-table", "input");
        await group(ids.v3).getByTestId("score-card").filter({ hasText: "acc" }).getByTestId("filter-improved").click();
        await page.waitForFunction((id) => new URLSearchParams(location.hash.split("?")[1]).get("in") === id, ids.v3);
        await page.waitForFunction(() => document.querySelector("[data-testid=compare-only]")?.textContent.includes("improved"));
        result.improvedInV3 = await columnTexts(page, "compare-table", "input");
        const base = `exp=${ids.v2},${ids.v3}&base=${ids.base}`;
        await open(page, "experiments/compare", `${base}&only=regressed:acc`, project.id);
        await page.reload();
        await page.getByTestId("compare-only").waitFor();
        await page.waitForFunction(() => {
          const n = document.querySelectorAll("[data-testid=compare-table] [data-testid=row]").length;
          return n > 0 && n < 5;
        });
        result.regressedInAny = await columnTexts(page, "compare-table", "input");
        result.anyText = await page.getByTestId("compare-only").textContent();

        // Sort by regressions (over both experiments' deltas), after a reload of the plain link.
        await open(page, "experiments/compare", base, project.id);
        await page.reload();
        await settled(5);
        await page.getByTestId("sort-regressions").click();
        await page.waitForURL(/sort=regressions/);
        result.sorted = { input: await columnTexts(page, "compare-table", "input"), change: await columnTexts(page, "compare-table", "regressions") };

        // Diff mode: a matched row, both experiments beside the baseline.
        const q0 = rows(page).filter({ hasText: cfg.diffInput });
        await q0.first().click();
        const diff = page.getByTestId("diff-view");
        await diff.waitFor();
        await shot(page, "compare-many-diff");
        result.diff = await diff.evaluate((d) => ({
          exps: [...d.querySelectorAll("[data-testid=diff-exp]")].map((e) => e.textContent),
          base: d.querySelector("[data-testid=diff-base]").textContent,
          scores: [...d.querySelectorAll("tr[data-field=scores] td")].map((td) => ({ text: td.textContent.replace(/\s+/g, ""), changed: td.classList.contains("changed") })),
        }));
        await diff.getByText("Close").click();
        await diff.waitFor({ state: "detached" });

        // One removed (×), then added back (+ Experiment): the URL follows.
        await page.locator("[data-testid=compare-also]").getByTestId("compare-remove").click();
        await page.waitForFunction((id) => new URLSearchParams(location.hash.split("?")[1]).get("exp") === id, ids.v2);
        await settled(4);
        result.afterRemove = { groups: await page.getByTestId("compare-summary-exp").count(), rows: await rows(page).count() };
        await page.getByTestId("compare-add").selectOption(ids.v3);
        await page.waitForFunction((want) => new URLSearchParams(location.hash.split("?")[1]).get("exp") === want, `${ids.v2},${ids.v3}`);
        await settled(5);
        result.afterAdd = { groups: await page.getByTestId("compare-summary-exp").count(), rows: await rows(page).count() };

        // A two-experiment link as before.
        await open(page, "experiments/compare", `exp=${ids.v3}&base=${ids.base}`, project.id);
        await page.reload();
        await settled(5);
        result.two = { summary: await summary(), exp: await page.getByTestId("compare-exp").inputValue(), base: await page.getByTestId("compare-base").inputValue() };
      } finally {
        await api(page, `v1/project/${project.id}`, { method: "DELETE" });
      }
    },
  };
}
