// Browser flows of the review tools: the trace's Thread view, project tags, human review with
// score configurations, the review queue, and the dataset list's tags and stars. Registered in
// e2e.mjs, which passes its helpers in.

export function reviewFlows({ cfg, result, check, shot, signIn, open, api }) {
  return {
    async thread(page) {
      await signIn(page);
      await open(page, "logs", `filter=${encodeURIComponent("id = 'trace-0003'")}&tab=btql`);
      await page.getByTestId("logs-table").getByTestId("row").first().click();
      await page.getByTestId("span-detail").waitFor();
      const llm = await page.evaluate(async ({ pid, key }) => {
        const res = await fetch("btql", {
          method: "POST",
          headers: { Authorization: `Bearer ${key}` },
          body: JSON.stringify({ query: `select: input, output | from: project_logs('${pid}') | filter: id = 'trace-0003-llm'` }),
        });
        return (await res.json()).data[0];
      }, { pid: cfg.data.project_id, key: cfg.key });
      await page.getByTestId("view-thread").click();
      await page.waitForURL(/pane=thread/);
      const thread = page.getByTestId("thread");
      await thread.getByTestId("thread-message").first().waitFor();
      const expected = llm.input.length + (llm.output ? 1 : 0);
      const bubbles = await thread.getByTestId("thread-message").allTextContents();
      check(bubbles.length === expected, `thread messages: ${bubbles.length}, expected ${expected}`);
      check(!(await page.getByTestId("span-tree").isVisible()), "the thread replaces the span tree");
      const question = llm.input.find((m) => m.role === "user").content;
      check(bubbles.some((b) => b.startsWith("user") && b.includes(question)), `the user's question is a bubble: ${bubbles}`);
      await shot(page, "thread");
      // Ctrl+F in the panel focuses the thread's search, also right after a click on the Thread
      // tab (the focus on the tab, in the panel's head: it opened the browser's find); a word of
      // the question keeps its bubble, marked.
      check(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")) === "view-thread", "the Thread tab has the focus");
      await page.keyboard.press("Control+f");
      check(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")) === "thread-search", "Ctrl+F from the Thread tab focuses the thread search");
      await page.getByTestId("view-thread").focus();
      await thread.click();
      await page.keyboard.press("Control+f");
      check(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")) === "thread-search", "Ctrl+F focuses the thread search");
      const word = question.split(" ").find((w) => w.length > 4).replace(/[^A-Za-z]/g, "");
      await page.keyboard.insertText(word);
      await page.getByTestId("thread-matches").waitFor();
      const marked = await thread.locator("mark").first().textContent();
      check(marked.toLowerCase() === word.toLowerCase(), `marked ${marked}`);
      const kept = await thread.getByTestId("thread-message").count();
      check(kept >= 1 && kept < expected, `search keeps ${kept} of ${expected}`);
      // Back to the tree.
      await page.getByTestId("view-tree").click();
      await page.getByTestId("span-tree").getByTestId("span-row").first().waitFor();
      result.messages = expected;
      // The panel's Tree/Thread tabs and its close keep the table's view: they wrote `view=`
      // too, so a click on Thread, Tree or × dropped the Errors view and reloaded every trace.
      await open(page, "logs");
      await page.getByTestId("view-picker").selectOption("builtin:errors");
      await page.waitForURL(/view=builtin%3Aerrors/);
      const viewOf = () => new URLSearchParams(page.url().split("?")[1] || "").get("view");
      await page.getByTestId("logs-table").getByTestId("row").first().click();
      await page.getByTestId("span-detail").waitFor();
      await page.getByTestId("view-thread").click();
      await page.waitForURL(/pane=thread/);
      check(viewOf() === "builtin:errors", `Thread keeps the view: ${page.url()}`);
      await page.getByTestId("view-tree").click();
      await page.getByTestId("span-tree").getByTestId("span-row").first().waitFor();
      check(viewOf() === "builtin:errors", `Tree keeps the view: ${page.url()}`);
      await page.getByTestId("close-trace").click();
      await page.getByTestId("trace-panel").waitFor({ state: "detached" });
      check(viewOf() === "builtin:errors", `closing the trace keeps the view: ${page.url()}`);
      check((await page.getByTestId("view-picker").inputValue()) === "builtin:errors", "the picker still shows Errors");
      result.viewKept = viewOf();
    },

    async tags(page) {
      await signIn(page);
      // Two tags without a colour, made before the page loads its tags.
      for (const name of ["plain", "picked"]) await api(page, "v1/project_tag", { method: "POST", body: { project_id: cfg.data.project_id, name } });
      await open(page, "logs", `filter=${encodeURIComponent("id = 'trace-0007'")}&tab=btql`);
      await page.getByTestId("logs-table").getByTestId("row").first().waitFor();
      await page.getByTestId("manage-tags").click();
      const manager = page.getByTestId("tag-manager");
      // Configure the seeded tag "support" and a new one, "urgent".
      for (const [name, color] of [["support", "#1f8a55"], ["urgent", "#c63a3a"]]) {
        await page.getByTestId("new-tag-name").fill(name);
        await page.getByTestId("new-tag-color").fill(color);
        await page.getByTestId("new-tag-save").click();
        await manager.getByTestId("tag-config-row").filter({ hasText: name }).waitFor();
      }
      await shot(page, "tag-manager");
      const stored = await page.evaluate(async ({ pid, key }) => {
        const res = await fetch(`v1/project_tag?project_id=${pid}`, { headers: { Authorization: `Bearer ${key}` } });
        return (await res.json()).objects;
      }, { pid: cfg.data.project_id, key: cfg.key });
      const colors = Object.fromEntries(stored.map((t) => [t.name, t.color]));
      check(colors.support === "#1f8a55" && colors.urgent === "#c63a3a", `stored tags ${JSON.stringify(colors)}`);
      // A colourless tag's colour input, focused and left, stores nothing; a colour picked and
      // the manager closed with Escape (no blur) is kept.
      const configRow = (name) => manager.getByTestId("tag-config-row").filter({ hasText: name });
      await configRow("plain").getByTestId("tag-config-color").focus();
      await configRow("picked").getByTestId("tag-config-color").fill("#8e44ad");
      await page.keyboard.press("Escape");
      await manager.waitFor({ state: "detached" });
      const colorOf = async (name) =>
        (await api(page, `v1/project_tag?project_id=${cfg.data.project_id}&project_tag_name=${name}`)).body.objects[0].color;
      for (let i = 0; i < 20 && (await colorOf("picked")) !== "#8e44ad"; i++) await page.waitForTimeout(100);
      check((await colorOf("picked")) === "#8e44ad", `a picked colour closed with Escape is kept: ${await colorOf("picked")}`);
      check((await colorOf("plain")) === null, `focusing a colourless tag's colour stores nothing: ${await colorOf("plain")}`);
      // The table shows "support" in its colour.
      const chip = page.getByTestId("logs-table").getByTestId("tag-chip").filter({ hasText: "support" }).first();
      check((await chip.getAttribute("data-color")) === "#1f8a55", "the table's tag has its colour");
      check((await chip.evaluate((el) => getComputedStyle(el).backgroundColor)) === "rgb(31, 138, 85)", "the chip is drawn in the colour");
      // A click on a tag in the table filters by it (Basic tab: tags includes).
      await chip.click();
      await page.waitForURL(/conds=/);
      const conds = JSON.parse(new URLSearchParams(new URL(page.url()).hash.split("?")[1]).get("conds"));
      check(JSON.stringify(conds) === '[{"field":"tags","op":"includes","value":"support"}]', `tag filter ${JSON.stringify(conds)}`);
      check(!page.url().includes("trace="), "the tag click does not open the trace");
      await page.getByTestId("logs-table").getByTestId("row").first().waitFor();
      // The trace panel suggests the configured tag; a click adds it.
      await page.getByTestId("logs-table").getByTestId("row").first().click();
      const editor = page.getByTestId("tag-editor");
      await editor.getByTestId("tag-suggestion").filter({ hasText: "urgent" }).click();
      await editor.getByTestId("tag-suggestion").filter({ hasText: "urgent" }).waitFor({ state: "detached" }); // added: no longer suggested
      check((await editor.getByTestId("tag-chip").filter({ hasText: "urgent" }).first().getAttribute("data-color")) === "#c63a3a", "the trace's tag has its colour");
      // The table's row shows the tag added in the panel (it kept the tags it had loaded).
      await page.getByTestId("logs-table").getByTestId("row").first().getByTestId("tag-chip").filter({ hasText: "urgent" }).waitFor();
      const row = await page.evaluate(async ({ pid, key }) => {
        const res = await fetch("btql", {
          method: "POST",
          headers: { Authorization: `Bearer ${key}` },
          body: JSON.stringify({ query: `select: tags | from: project_logs('${pid}') | filter: id = 'trace-0007'` }),
        });
        return (await res.json()).data[0];
      }, { pid: cfg.data.project_id, key: cfg.key });
      check(row.tags.includes("urgent") && row.tags.includes("support"), `stored row tags ${JSON.stringify(row.tags)}`);
      await shot(page, "trace-tags");
      result.tags = stored.length;
    },

    async review(page) {
      await signIn(page);
      await open(page, "logs", `filter=${encodeURIComponent("id = 'trace-0009'")}&tab=btql`);
      await page.getByTestId("logs-table").getByTestId("row").first().click();
      const review = page.getByTestId("human-review");
      await review.waitFor();
      // Configure four scores from the span's review section.
      await review.getByTestId("configure-scores").click();
      const configs = [
        ["correctness", "categorical", "right=1, partly=0.5, wrong=0"],
        ["accuracy", "slider"],
        ["reviewer_note", "free-form", "metadata.review.note"],
        ["ideal_answer", "free-form", "expected"],
      ];
      for (const [name, type, extra] of configs) {
        await page.getByTestId("config-name").fill(name);
        await page.getByTestId("config-type").selectOption(type);
        if (type === "categorical") await page.getByTestId("config-categories").fill(extra);
        if (type === "free-form") await page.getByTestId("config-destination").fill(extra);
        await page.getByTestId("config-save").click();
        await review.locator(`[data-testid=review-score][data-name=${name}]`).waitFor();
      }
      await review.getByTestId("configure-scores").click();
      const row = (name) => review.locator(`[data-testid=review-score][data-name=${name}]`);
      // Categorical: a click writes the category's value.
      await row("correctness").getByTestId("review-category").filter({ hasText: "partly" }).click();
      await row("correctness").locator("button.on", { hasText: "partly" }).waitFor();
      // Slider.
      // Slider and text save themselves shortly after the last change.
      await row("accuracy").getByTestId("review-slider").fill("0.8");
      await row("accuracy").locator("[data-testid=autosave][data-status=saved]").waitFor();
      // Free-form to a metadata path, and to expected.
      await row("reviewer_note").getByTestId("review-text").fill("Right answer, but terse.");
      await row("reviewer_note").locator("[data-testid=autosave][data-status=saved]").waitFor();
      await row("ideal_answer").getByTestId("review-text").fill("The ideal answer.");
      await row("ideal_answer").locator("[data-testid=autosave][data-status=saved]").waitFor();
      await shot(page, "human-review");
      const stored = await page.evaluate(async ({ pid, key }) => {
        const auth = { Authorization: `Bearer ${key}` };
        const res = await fetch("btql", {
          method: "POST",
          headers: auth,
          body: JSON.stringify({ query: `select: scores, metadata, expected | from: project_logs('${pid}') | filter: id = 'trace-0009'` }),
        });
        const scores = await (await fetch(`v1/project_score?project_id=${pid}`, { headers: auth })).json();
        return { row: (await res.json()).data[0], configs: scores.objects };
      }, { pid: cfg.data.project_id, key: cfg.key });
      const { scores, metadata, expected } = stored.row;
      check(scores.correctness === 0.5, `categorical score ${JSON.stringify(scores)}`);
      check(scores.accuracy === 0.8, `slider score ${JSON.stringify(scores)}`);
      check(metadata.review?.note === "Right answer, but terse.", `free-form to metadata ${JSON.stringify(metadata)}`);
      check(Object.keys(metadata).length > 1, "the other metadata keys are kept");
      check(expected === "The ideal answer.", `free-form to expected ${JSON.stringify(expected)}`);
      const cat = stored.configs.find((c) => c.name === "correctness");
      check(JSON.stringify(cat.categories) === JSON.stringify([{ name: "right", value: 1 }, { name: "partly", value: 0.5 }, { name: "wrong", value: 0 }]), `categories ${JSON.stringify(cat)}`);
      result.configs = stored.configs.length;
    },

    async queue(page) {
      await signIn(page);
      await open(page, "logs", `filter=${encodeURIComponent("id = 'trace-0011'")}&tab=btql`);
      await page.getByTestId("logs-table").getByTestId("row").first().click();
      await page.getByTestId("flag-for-review").click();
      await page.getByTestId("mark-reviewed").waitFor(); // flagged: awaiting review
      // The queue lists it under Awaiting; a click opens its trace.
      await open(page, "review");
      const queue = page.getByTestId("review-queue");
      const item = queue.getByTestId("review-item").filter({ hasText: "trace-0011" });
      await item.waitFor();
      await shot(page, "review-queue");
      await item.getByTestId("review-open").click();
      await page.waitForURL(/logs\?.*trace=/);
      await page.getByTestId("span-detail").getByText("id trace-0011").waitFor();
      await open(page, "review");
      await item.getByTestId("review-complete").click();
      await item.waitFor({ state: "detached" });
      await page.getByTestId("review-completed").click();
      await item.waitFor();
      const stored = await page.evaluate(async ({ pid, key }) => {
        const res = await fetch(`v1/review_item?project_id=${pid}&row_id=trace-0011`, { headers: { Authorization: `Bearer ${key}` } });
        return (await res.json()).objects;
      }, { pid: cfg.data.project_id, key: cfg.key });
      check(stored.length === 1 && stored[0].status === "completed" && stored[0].span_name === "support_turn", `stored ${JSON.stringify(stored)}`);
      result.status = stored[0].status;
    },

    async datasetlist(page) {
      await signIn(page);
      await open(page, "datasets");
      const row = page.getByTestId("datasets-table").getByTestId("dataset-row").filter({ hasText: "support-questions" });
      await row.waitFor();
      await row.getByTestId("dataset-edit-tags").click();
      await row.getByTestId("dataset-tag-input").fill("golden");
      await row.getByTestId("dataset-tag-input").press("Enter");
      await row.getByTestId("tag-chip").filter({ hasText: "golden" }).waitFor();
      const stored = await page.evaluate(async ({ pid, key }) => {
        const res = await fetch(`v1/dataset?project_id=${pid}&dataset_name=support-questions`, { headers: { Authorization: `Bearer ${key}` } });
        return (await res.json()).objects[0];
      }, { pid: cfg.data.project_id, key: cfg.key });
      check(JSON.stringify(stored.tags) === '["golden"]', `stored dataset tags ${JSON.stringify(stored.tags)}`);
      // Star it: kept in this browser, starred first, and the only one under "Starred only".
      await row.getByTestId("dataset-star").click();
      await page.reload();
      await row.getByTestId("dataset-star").filter({ hasText: "★" }).waitFor();
      const first = await page.getByTestId("dataset-row").first().textContent();
      check(first.includes("support-questions"), `the starred dataset comes first: ${first}`);
      await page.getByTestId("only-starred").check();
      await page.waitForFunction(() => document.querySelectorAll("[data-testid=dataset-row]").length === 1);
      await shot(page, "datasets-starred");
      result.tags = stored.tags;
    },
  };
}
