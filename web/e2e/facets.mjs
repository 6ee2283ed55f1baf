// The facet sidebar's counts against what a click on them shows, on a project of its own (see
// tests/browser/seed.py facet_rows): for every facet and value, in Traces and Spans mode, with
// and without a filter, a click on the value must show as many rows as the value's count.
// Registered in e2e.mjs, which passes its helpers in.

export function facetsFlows({ cfg, result, check, shot, open, signIn, api }) {
  const pid = () => cfg.data.facets_project_id;

  /** Wait until the rows and the facet counts shown are those of the URL's state. */
  async function settled(page) {
    await page.waitForFunction(() => {
      const params = new URLSearchParams(location.hash.split("?")[1] || "").toString();
      const bar = document.querySelector("[data-testid=statusbar]");
      const side = document.querySelector("[data-testid=facets]");
      return bar?.dataset.settled === "1" && bar.dataset.params === params && side?.dataset.settled === "1" && side.dataset.params === params;
    });
  }

  /** The rows the table shows (every one loaded: no "scroll for more"). */
  async function shown(page) {
    const text = await page.getByTestId("statusbar").textContent();
    check(!text.includes("scroll for more"), `every row loaded: ${text}`);
    return Number(text.match(/^([\d,]+)/)[1].replace(/,/g, ""));
  }

  /** Every facet's values as drawn: { facet id: [{ name, n, on }] }. */
  async function facets(page) {
    return page.locator("[data-testid=facets] .facet").evaluateAll((els) =>
      Object.fromEntries(
        els.map((el) => [
          el.dataset.testid.replace(/^facet-/, ""),
          [...el.querySelectorAll("[data-testid=facet-value]")].map((b) => ({
            name: b.querySelector(".facet-name").textContent,
            n: Number(b.querySelector(".facet-count").textContent.replace(/,/g, "")),
            on: b.classList.contains("on"),
          })),
        ]),
      ),
    );
  }

  function value(page, facet, name) {
    return page
      .getByTestId(`facet-${facet}`)
      .getByTestId("facet-value")
      .filter({ has: page.locator(".facet-name", { hasText: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) }) });
  }

  async function btqlRows(page, query) {
    const res = await api(page, "btql", { method: "POST", body: { query } });
    check(res.status === 200, `btql ${query}: ${JSON.stringify(res.body)}`);
    return res.body.data;
  }

  return {
    async facetcounts(page) {
      await signIn(page);
      // Anchors in the data itself: 5 and "5" are one value of metadata.tier, a score of 0 is
      // present and a JSON null one is not.
      const src = `project_logs('${pid()}')`;
      const tier5 = (await btqlRows(page, `select: id | from: ${src} | filter: metadata.tier = 5 | limit: 1000`)).length;
      const typed = await btqlRows(page, `select: id | from: ${src} | filter: metadata.tier = '5' AND metadata.tier != '5' | limit: 10`);
      check(tier5 === 25 && typed.length === 0, `tier 5 spans ${tier5}`);
      const accuracy = (await btqlRows(page, `select: id | from: ${src} | filter: scores.accuracy >= 0 | limit: 1000`)).length;
      check(accuracy === 10, `spans with an accuracy score ${accuracy}`);

      const notTool = JSON.stringify([{ field: "span_attributes.type", op: "!=", value: "tool" }]);
      const checked = [];
      const seen = new Set();
      for (const rows of ["spans", "traces"]) {
        for (const conds of [null, notTool]) {
          const base = new URLSearchParams({ facets: "1", ...(rows === "spans" ? { rows } : {}), ...(conds ? { conds } : {}) }).toString();
          await open(page, "logs", base, pid());
          await settled(page);
          const before = await facets(page);
          const what = `${rows}${conds ? " under type != tool" : ""}`;
          for (const [facet, values] of Object.entries(before)) {
            seen.add(facet);
            check(values.length > 0, `${what}: facet ${facet} has values`);
            const names = values.map((v) => v.name);
            check(new Set(names).size === names.length, `${what}: ${facet} lists a value once: ${names}`);
            for (const v of values) {
              if (v.on) continue; // its condition is the filter's: a click removes it
              if (page.url().split("?")[1] !== base) {
                await open(page, "logs", base, pid());
                await settled(page);
              }
              await value(page, facet, v.name).click();
              await page.waitForFunction((b) => location.hash.split("?")[1] !== b, base);
              await settled(page);
              const n = await shown(page);
              check(n === v.n, `${what}: ${facet} = ${v.name} counts ${v.n}, a click on it shows ${n} ${rows}`);
              const after = (await facets(page))[facet].find((x) => x.name === v.name);
              check(after?.on && after.n === n, `${what}: ${facet} = ${v.name} selected and counted ${n} after the click: ${JSON.stringify(after)}`);
              checked.push(`${what}: ${facet}=${v.name} ${n}`);
            }
          }
          if (rows === "spans" && !conds) {
            // 5 and "5" merged into one value, counted as `= 5` selects them
            check(before["metadata.tier"].find((v) => v.name === "5")?.n === tier5, `tier facet ${JSON.stringify(before["metadata.tier"])}`);
            check(before.scores.find((v) => v.name === "accuracy")?.n === accuracy, `scores facet ${JSON.stringify(before.scores)}`);
          }
        }
      }
      for (const id of ["type", "name", "tags", "error", "scores", "metadata.model", "metadata.tier", "metadata.cached"]) check(seen.has(id), `facet ${id} shown: ${[...seen]}`);
      result.checked = checked;
    },

    // Live with the facets open: a trace logged meanwhile is counted, as the table shows it
    // (the counts stayed those of when the sidebar opened while the table took the trace in).
    async facetslive(page) {
      await signIn(page);
      const name = `facets-live-${Date.now().toString(36)}`;
      const filter = `span_attributes.name = '${name}'`;
      await open(page, "logs", `tab=btql&filter=${encodeURIComponent(filter)}&facets=1&live=1`, cfg.data.project_id);
      const type = page.getByTestId("facet-type");
      await type.getByText("none").waitFor();
      const row = { id: name, span_id: name, root_span_id: name, input: "q", output: "a", span_attributes: { name, type: "task" } };
      check((await api(page, `v1/project_logs/${cfg.data.project_id}/insert`, { method: "POST", body: { events: [row] } })).status === 200, "trace logged");
      await page.getByTestId("logs-table").getByTestId("row").first().waitFor();
      await type.getByText("task").waitFor();
      result.type = await type.textContent();
      check(/task\s*1/.test(result.type), `the new trace counted: ${result.type}`);
    },
  };
}
