// Browser flows of the UI's frame: dialogs close on Escape and give the focus back, the
// experiments list's Compare says (and lets you pick) which experiment is the baseline, and
// its figures are those of the server's summaries.
// Registered in e2e.mjs, which passes its helpers in.

export function uiFixesFlows({ cfg, result, check, signIn, open, api, tableSettled, columnTexts }) {
  /** The data-testid of the element that has the focus. */
  const focused = (page) => page.evaluate(() => document.activeElement?.getAttribute("data-testid") ?? document.activeElement?.tagName);

  return {
    // Saving a sandbox query under the name of another one asks before replacing it (it was
    // replaced without a word).
    async sandboxreplace(page) {
      await signIn(page);
      const pid = cfg.data.project_id;
      const name = `kept-${Date.now()}`;
      const first = `select: id | from: project_logs('${pid}') | limit: 1`;
      const other = `select: id | from: project_logs('${pid}') | limit: 2`;
      const made = await api(page, "v1/view", { method: "POST", body: { object_type: "project", object_id: pid, view_type: "sandbox", name, view_data: { query: first } } });
      check(made.status === 200, `saved query made: ${JSON.stringify(made.body)}`);
      const confirms = [];
      let replace = false;
      page.on("dialog", (d) => {
        if (d.type() === "prompt") return d.accept(name);
        confirms.push(d.message());
        return replace ? d.accept() : d.dismiss();
      });
      const stored = async () => (await api(page, `v1/view/${made.body.id}`)).body.view_data.query;
      try {
        await open(page, "sandbox");
        await page.getByTestId("saved-queries").getByTestId("saved-query").filter({ hasText: name }).waitFor();
        const content = page.getByTestId("sandbox-editor").locator(".cm-content");
        await content.click();
        await page.keyboard.press("Control+A");
        await page.keyboard.press("Delete");
        await page.keyboard.insertText(other);
        await page.getByTestId("save-query").click();
        check(confirms.length === 1, `asked before replacing: ${confirms}`);
        check((await stored()) === first, "not replaced when the user says no");
        replace = true;
        await page.getByTestId("save-query").click();
        for (let i = 0; i < 50 && (await stored()) !== other; i++) await page.waitForTimeout(100);
        check((await stored()) === other, "replaced when the user says yes");
        result.confirms = confirms;
      } finally {
        await api(page, `v1/view/${made.body.id}`, { method: "DELETE" });
      }
    },

    // Saving a view, a tag or a score configuration under a name already taken says so (the
    // server's POST answers the existing one, and the UI switched to it or said nothing).
    async takennames(page) {
      await signIn(page);
      const pid = cfg.data.project_id;
      const stamp = Date.now();
      const made = { tags: [], scores: [], views: [], automations: [] };
      const messages = {};
      try {
        await open(page, "logs", `filter=${encodeURIComponent("id = 'trace-0011'")}&tab=btql`);
        await page.getByTestId("logs-table").getByTestId("row").first().waitFor();

        // A view, then another filter saved under its name.
        const viewName = `taken-view-${stamp}`;
        const saveView = async () => {
          await page.getByTestId("save-view").click();
          await page.getByTestId("view-name").fill(viewName);
          await page.getByTestId("view-name-ok").click();
        };
        await saveView();
        await page.waitForURL(/view=/);
        const viewId = new URLSearchParams(new URL(page.url()).hash.split("?")[1]).get("view");
        made.views.push(viewId);
        await open(page, "logs", `filter=${encodeURIComponent("id = 'trace-0012'")}&tab=btql`);
        await page.getByTestId("logs-table").getByTestId("row").first().waitFor();
        await saveView();
        messages.view = await page.getByTestId("view-error").textContent();
        const url = new URL(page.url()).hash;
        check(!url.includes(viewId) && url.includes("trace-0012"), `the filter stays, the other view is not opened: ${url}`);
        const views = (await api(page, `v1/view?object_type=project&object_id=${pid}&view_type=logs&view_name=${viewName}`)).body.objects;
        check(views.length === 1 && views[0].view_data.search.filter.includes("trace-0011"), `the stored view is unchanged: ${JSON.stringify(views)}`);

        // A tag.
        const tagName = `taken-tag-${stamp}`;
        const tag = await api(page, "v1/project_tag", { method: "POST", body: { project_id: pid, name: tagName, color: "#111111" } });
        made.tags.push(tag.body.id);
        await page.getByTestId("manage-tags").click();
        await page.getByTestId("new-tag-name").fill(tagName);
        await page.getByTestId("new-tag-color").fill("#c63a3a");
        await page.getByTestId("new-tag-save").click();
        messages.tag = await page.getByTestId("tag-manager-error").textContent();
        check((await page.getByTestId("new-tag-name").inputValue()) === tagName, "the typed name stays in its box");
        await page.getByTestId("tag-manager-close").click();

        // A score configuration (made meanwhile by another user: not in the loaded list).
        await page.getByTestId("logs-table").getByTestId("row").first().click();
        const review = page.getByTestId("human-review");
        await review.waitFor();
        await review.getByTestId("configure-scores").click();
        const scoreName = `taken-score-${stamp}`;
        const score = await api(page, "v1/project_score", { method: "POST", body: { project_id: pid, name: scoreName, score_type: "slider" } });
        made.scores.push(score.body.id);
        await page.getByTestId("config-name").fill(scoreName);
        await page.getByTestId("config-type").selectOption("categorical");
        await page.getByTestId("config-save").click();
        messages.score = await page.getByTestId("config-form-error").textContent();
        const stored = (await api(page, `v1/project_score/${score.body.id}`)).body;
        check(stored.score_type === "slider", `the stored configuration is unchanged: ${JSON.stringify(stored)}`);
        await page.getByTestId("close-trace").click();

        // A dataset: "+ Dataset", and a new dataset in Add to dataset.
        const dsName = (await api(page, `v1/dataset/${cfg.data.dataset_id}`)).body.name;
        await open(page, "datasets");
        await page.getByTestId("new-dataset").fill(dsName);
        await page.getByTestId("new-dataset").press("Enter");
        messages.dataset = await page.getByTestId("new-dataset-error").textContent();
        check(/#\/p\/[^/]+\/datasets$/.test(new URL(page.url()).hash), `stays on the list: ${page.url()}`);
        await open(page, "logs", `filter=${encodeURIComponent("id = 'trace-0011'")}&tab=btql`);
        await page.getByTestId("logs-table").getByTestId("row-select").first().check();
        await page.getByTestId("add-to-dataset").click();
        const dialog = page.getByTestId("add-dataset-dialog");
        await dialog.getByTestId("dataset-choice").locator("option", { hasText: dsName }).waitFor({ state: "attached" }); // (listed)
        await dialog.getByTestId("dataset-choice").selectOption("+");
        await dialog.getByTestId("new-dataset-name").fill(dsName);
        await dialog.getByTestId("confirm-add").click();
        messages.addToDataset = await dialog.getByTestId("add-dataset-error").textContent();
        check((await dialog.getByTestId("dataset-choice").inputValue()) === cfg.data.dataset_id, "the existing dataset is picked");
        check((await dialog.getByTestId("dataset-choice").locator("option", { hasText: dsName }).count()) === 1, "listed once");

        // An automation.
        const autoName = `taken-auto-${stamp}`;
        const auto = await api(page, "v1/project_automation", {
          method: "POST",
          body: { project_id: pid, name: autoName, config: { event_type: "retention", object_type: "project_logs", retention_days: 365 } },
        });
        check(auto.status === 200, `automation made: ${JSON.stringify(auto.body)}`);
        made.automations.push(auto.body.id);
        await open(page, "automations");
        await page.getByTestId("new-export").click();
        await page.getByTestId("automation-name").fill(autoName);
        await page.getByTestId("export-path").fill("file://" + cfg.data.export_dir + "/taken");
        await page.getByTestId("save-automation").click();
        messages.automation = await page.getByTestId("automation-error").textContent();
        check((await page.getByText(`Edit ${autoName}`).count()) === 0, "the form is not the other automation's editor");
        const kept = (await api(page, `v1/project_automation/${auto.body.id}`)).body;
        check(kept.config.event_type === "retention", `the stored automation is unchanged: ${JSON.stringify(kept.config)}`);

        // "New dataset…" picked while the list loads stays picked (the list's first dataset
        // replaced it, and the name typed went with its box).
        await open(page, "logs", `filter=${encodeURIComponent("id = 'trace-0011'")}&tab=btql`);
        await page.getByTestId("logs-table").getByTestId("row-select").first().check();
        let release;
        const held = new Promise((r) => (release = r));
        await page.route(/\/v1\/dataset\?/, async (route) => {
          await held;
          await route.continue();
        });
        await page.getByTestId("add-to-dataset").click();
        const slow = page.getByTestId("add-dataset-dialog");
        await slow.getByTestId("dataset-choice").selectOption("+");
        await slow.getByTestId("new-dataset-name").fill("typed-while-loading");
        release();
        await slow.getByTestId("dataset-choice").locator("option", { hasText: dsName }).waitFor({ state: "attached" });
        await page.unroute(/\/v1\/dataset\?/);
        check((await slow.getByTestId("dataset-choice").inputValue()) === "+", "New dataset… stays picked");
        check((await slow.getByTestId("new-dataset-name").inputValue()) === "typed-while-loading", "the typed name stays");
        await page.keyboard.press("Escape");
      } finally {
        for (const id of made.automations) await api(page, `v1/project_automation/${id}`, { method: "DELETE" });
        for (const id of made.views) await api(page, `v1/view/${id}`, { method: "DELETE" });
        for (const id of made.tags) await api(page, `v1/project_tag/${id}`, { method: "DELETE" });
        for (const id of made.scores) await api(page, `v1/project_score/${id}`, { method: "DELETE" });
      }
      result.messages = messages;
    },

    // A mistyped screen or path says so, with a link back (it showed the logs).
    async notfound(page) {
      await signIn(page);
      const pid = cfg.data.project_id;
      const seen = {};
      for (const [name, hash, back] of [
        ["screen", `#/p/${pid}/logz`, `#/p/${pid}/logs`],
        ["path", "#/projects/nothing", null],
        ["bare", "#/p", null],
      ]) {
        await page.goto(`${cfg.url}/${hash}`);
        const box = page.getByTestId("not-found");
        await box.waitFor();
        seen[name] = await box.textContent();
        check(seen[name].includes(hash.slice(1)), `${name}: ${seen[name]}`);
        check((await page.getByTestId("logs-table").count()) === 0, `${name}: no logs table`);
        await box.getByTestId("not-found-back").click();
        if (back) await page.waitForFunction((b) => location.hash === b, back);
        else await page.waitForFunction(() => /^#\/p\/[^/]+\/logs$/.test(location.hash));
        await page.getByTestId("logs-table").waitFor();
      }
      result.notFound = seen;
    },

    // Signed out of both organizations one after the other, then in to the second again:
    // each step lands on a screen of the organization signed in (the URL kept the project of
    // the one signed out of).
    async signout(page) {
      await signIn(page);
      const second = await api(page, "v1/organization", { method: "POST", body: { name: `out-${Date.now()}` } });
      check(second.status === 200, `organization created: ${JSON.stringify(second.body)}`);
      const key2 = second.body.api_key.key;
      const p2 = (await api(page, "v1/project", { method: "POST", body: { name: "elsewhere" }, key: key2 })).body.id;
      await page.getByTestId("org-switcher").selectOption("+");
      await page.getByTestId("api-key").fill(key2);
      await page.getByTestId("sign-in").click();
      await page.waitForURL(new RegExp(`#/p/${p2}/logs`));
      const steps = {};
      await page.getByRole("button", { name: "Sign out" }).click(); // of the second
      await page.waitForURL((u) => /^#\/p\/[^/]+\/logs$/.test(u.hash) && !u.hash.includes(p2));
      await page.getByTestId("nav-logs").waitFor();
      steps.first = new URL(page.url()).hash;
      await page.getByRole("button", { name: "Sign out" }).click(); // of the first: no session left
      await page.getByTestId("api-key").waitFor();
      steps.signedOut = new URL(page.url()).hash;
      await page.getByTestId("api-key").fill(key2);
      await page.getByTestId("sign-in").click();
      await page.waitForURL(new RegExp(`#/p/${p2}/logs`), { timeout: 5000 }).catch(() => check(false, `signed in to the second again: ${page.url()}`));
      await page.getByTestId("nav-logs").waitFor();
      steps.again = new URL(page.url()).hash;
      check((await page.locator(".error").count()) === 0, `an error shown: ${await page.locator(".error").allTextContents()}`);
      result.steps = steps;
      result.p2 = p2;
    },

    // A key revoked since the sign-in, on a reload: the refusal says what happened and offers
    // to sign in again; signed in with a good key, no error of the old session stays on screen
    // (its "invalid API key" did, above every screen).
    async revokedkey(page) {
      await signIn(page);
      const made = await api(page, "v1/api_key", { method: "POST", body: { name: `short-lived-${Date.now()}`, role: "write" } });
      check(made.status === 200, `key made: ${JSON.stringify(made.body)}`);
      await page.goto(cfg.url + "/#/login");
      await page.getByTestId("api-key").fill(made.body.key);
      await page.getByTestId("sign-in").click();
      await page.waitForURL(/#\/p\/[^/]+\/logs/);
      check((await api(page, `v1/api_key/${made.body.id}`, { method: "DELETE" })).status === 200, "revoked through the API");
      await page.reload();
      const error = page.getByTestId("app-error");
      await error.getByTestId("sign-in-again").waitFor();
      result.refused = await error.textContent();
      await error.getByTestId("sign-in-again").click();
      await page.getByTestId("api-key").fill(cfg.key);
      await page.getByTestId("sign-in").click();
      await page.waitForURL(/#\/p\/[^/]+\/logs/);
      await page.getByTestId("nav-logs").waitFor();
      await tableSettled(page);
      result.errorsAfter = await page.locator(".error").allTextContents();
    },

    // The app's address without a screen ("/", a bookmark) opens the first project's logs in
    // its place: Back goes to the page before it. (It came straight back to the logs, so Back
    // could never leave them.)
    async backfromhome(page) {
      await signIn(page);
      await open(page, "datasets");
      await page.getByTestId("nav-datasets").waitFor();
      await page.goto(cfg.url + "/");
      await page.waitForURL(/#\/p\/[^/]+\/logs$/);
      await page.getByTestId("nav-logs").waitFor();
      await page.goBack();
      await page.waitForURL(/#\/p\/[^/]+\/datasets$/, { timeout: 5000 }).catch(() => check(false, `Back from the home page's logs: ${page.url()}`));
      result.back = new URL(page.url()).hash;
    },

    async dialogs(page) {
      await signIn(page);
      const closed = [];
      /** Open a dialog with its button; Escape closes it and the focus is back on the button. */
      const escapes = async (opener, testId) => {
        await opener.click();
        const dialog = page.getByTestId(testId);
        await dialog.waitFor();
        const inside = await page.evaluate((id) => document.querySelector(`[data-testid="${id}"]`).contains(document.activeElement), testId);
        check(inside, `${testId}: the focus went into the dialog (${await focused(page)})`);
        await page.keyboard.press("Escape");
        await dialog.waitFor({ state: "detached", timeout: 3000 }).catch(() => check(false, `${testId} did not close on Escape`));
        const back = await focused(page);
        const want = await opener.getAttribute("data-testid");
        check(back === want, `${testId}: the focus is back on ${want}, not ${back}`);
        closed.push(testId);
      };

      await open(page, "logs", "rows=spans");
      await tableSettled(page);
      await escapes(page.getByTestId("manage-tags"), "tag-manager");
      await page.getByTestId("logs-table").getByTestId("row-select").first().check();
      await escapes(page.getByTestId("add-to-dataset"), "add-dataset-dialog");
      // The column chooser (a popover) closes on Escape too.
      await page.getByTestId("columns-button").click();
      await page.getByTestId("column-chooser").waitFor();
      await page.keyboard.press("Escape");
      await page.getByTestId("column-chooser").waitFor({ state: "detached", timeout: 3000 }).catch(() => check(false, "the column chooser did not close on Escape"));
      closed.push("column-chooser");
      // The inline "Save view" form: Escape cancels it (nothing saved), focus back on its button.
      const views = async () => (await api(page, `/v1/view?object_type=project&object_id=${cfg.data.project_id}&view_type=logs`)).body.objects.length;
      const viewsBefore = await views();
      await page.getByTestId("save-view").click();
      await page.getByTestId("view-name").fill("never saved");
      await page.keyboard.press("Escape");
      await page.getByTestId("view-name").waitFor({ state: "detached", timeout: 3000 }).catch(() => check(false, "the Save view form did not close on Escape"));
      check((await focused(page)) === "save-view", `the focus is back on save-view, not ${await focused(page)}`);
      check((await views()) === viewsBefore, "Escape saved the view");
      closed.push("save-view-form");
      // The trace panel: Escape leaves full screen, then closes it; the column chooser
      // opened over it takes the Escape first.
      await page.getByTestId("logs-table").getByTestId("row").first().click();
      await page.waitForURL(/trace=/);
      const panel = page.getByTestId("trace-panel");
      await panel.waitFor();
      await page.getByTestId("columns-button").click();
      await page.getByTestId("column-chooser").waitFor();
      await page.keyboard.press("Escape");
      await page.getByTestId("column-chooser").waitFor({ state: "detached", timeout: 3000 });
      await page.waitForTimeout(200);
      check((await panel.count()) === 1, "the trace panel stayed open when Escape closed the column chooser");
      await page.getByTestId("fullscreen").click();
      await page.waitForURL(/full=1/);
      await page.keyboard.press("Escape");
      await page.waitForURL((url) => !url.toString().includes("full=1"));
      check((await panel.count()) === 1, "Escape in full screen leaves full screen, the panel stays");
      await page.keyboard.press("Escape");
      await panel.waitFor({ state: "detached", timeout: 3000 }).catch(() => check(false, "the trace panel did not close on Escape"));
      check(!page.url().includes("trace="), `the URL still names the trace: ${page.url()}`);
      closed.push("trace-panel");

      // The datasets list's inline tag editor: Escape leaves it, adding nothing.
      await open(page, "datasets");
      // The seeded dataset by name: the list's order changes as stars load (first() moved).
      const tagCell = page.getByTestId("datasets-table").getByTestId("dataset-row").filter({ hasText: "support-questions" }).getByTestId("dataset-tags");
      const tagsBefore = await tagCell.textContent();
      await tagCell.getByTestId("dataset-edit-tags").click();
      await tagCell.getByTestId("dataset-tag-input").fill("never added");
      await page.keyboard.press("Escape");
      await tagCell.getByTestId("dataset-tag-input").waitFor({ state: "detached", timeout: 3000 }).catch(() => check(false, "the tag editor did not close on Escape"));
      check((await focused(page)) === "dataset-edit-tags", `the focus is back on dataset-edit-tags, not ${await focused(page)}`);
      check((await tagCell.textContent()) === tagsBefore, `Escape added a tag: ${await tagCell.textContent()}`);
      closed.push("dataset-tag-editor");

      await open(page, `datasets/${cfg.data.dataset_id}`);
      const rows = page.getByTestId("dataset-rows");
      await rows.getByTestId("row").first().waitFor();
      await escapes(page.getByTestId("add-row"), "row-editor");
      await escapes(page.getByTestId("upload"), "upload-dialog");
      await escapes(rows.getByTestId("copy-row").first(), "copy-dialog");

      await open(page, "automations");
      await escapes(page.getByTestId("new-export"), "automation-form");

      // The compare screen's diff mode (opened by a click on a row).
      await open(page, "experiments/compare", `exp=${cfg.data.candidate_experiment}&base=${cfg.data.base_experiment}`);
      const first = page.getByTestId("compare-table").getByTestId("row").first();
      await first.waitFor();
      await first.click();
      const diff = page.getByTestId("diff-view");
      await diff.waitFor();
      await page.keyboard.press("Escape");
      await diff.waitFor({ state: "detached", timeout: 3000 }).catch(() => check(false, "the diff view did not close on Escape"));
      closed.push("diff-view");
      result.closed = closed;
    },

    async comparebase(page) {
      await signIn(page);
      await open(page, "experiments");
      const table = page.getByTestId("experiments-table");
      await table.getByText("prompt-v2").waitFor();
      const boxes = page.getByTestId("pick-experiment");
      // The newer experiment picked first: the older is still the baseline, and it says so.
      await boxes.nth(0).check(); // prompt-v2
      await boxes.nth(1).check(); // prompt-v1
      const compare = page.getByTestId("compare");
      result.button = await compare.textContent();
      check(result.button === "Compare prompt-v2 with prompt-v1", `the button: ${result.button}`);
      const badge = table.getByTestId("row").filter({ has: page.getByTestId("picked-baseline") });
      check((await badge.count()) === 1 && (await badge.textContent()).includes("prompt-v1"), "the baseline is marked in the list");
      // Another baseline picked: the button and the compare screen follow.
      await page.getByTestId("compare-pick-base").selectOption(cfg.data.candidate_experiment);
      result.swappedButton = await compare.textContent();
      check(result.swappedButton === "Compare prompt-v1 with prompt-v2", `after picking the baseline: ${result.swappedButton}`);
      await compare.click();
      await page.waitForURL(/compare/);
      await page.getByTestId("compare-table").getByTestId("row").first().waitFor(); // (the lists loaded)
      check((await page.getByTestId("compare-base").inputValue()) === cfg.data.candidate_experiment, "the picked baseline");
      check((await page.getByTestId("compare-exp").inputValue()) === cfg.data.base_experiment, "the other one compared");
      // Swap in the compare screen.
      await page.getByTestId("compare-swap").click();
      await page.waitForFunction(
        ({ exp, base }) => {
          const p = new URLSearchParams(location.hash.split("?")[1] || "");
          return p.get("exp") === exp && p.get("base") === base;
        },
        { exp: cfg.data.candidate_experiment, base: cfg.data.base_experiment },
      );
      check((await page.getByTestId("compare-base").inputValue()) === cfg.data.base_experiment, "swapped baseline");
      await page.getByTestId("compare-table").getByTestId("row").first().waitFor();
      // A compare link naming no experiment asks for one (the table said "Loading…" for ever).
      await open(page, "experiments/compare");
      await page.getByTestId("compare-no-exp").waitFor();
      check((await page.getByTestId("compare-table").textContent()).includes("No rows"), "not loading for ever, nor the previous comparison's rows");
      check((await page.getByTestId("compare-summary").count()) === 0, "nor its summary");
      await page.getByTestId("compare-exp").selectOption(cfg.data.candidate_experiment);
      await page.getByTestId("compare-table").getByTestId("row").first().waitFor();
      await open(page, "experiments/compare", `exp=${cfg.data.candidate_experiment}&base=${cfg.data.base_experiment}`);
      await page.getByTestId("compare-table").getByTestId("row").first().waitFor();
      // The baseline picked as the experiment: the two swap (it was compared with itself).
      await page.getByTestId("compare-exp").selectOption(cfg.data.base_experiment);
      await page.waitForFunction(
        ({ exp, base }) => {
          const p = new URLSearchParams(location.hash.split("?")[1] || "");
          return p.get("exp") === exp && p.get("base") === base;
        },
        { exp: cfg.data.base_experiment, base: cfg.data.candidate_experiment },
        { timeout: 5000 },
      ).catch(() => check(false, `the baseline picked as the experiment: ${page.url()}`));
      check((await page.getByTestId("compare-base").inputValue()) === cfg.data.candidate_experiment, "the other one became the baseline");
      // The baseline "(none)" stays picked, and a reload (a link) keeps it: without a `base`
      // in the URL the default baseline came back.
      await open(page, "experiments/compare", `exp=${cfg.data.candidate_experiment}`);
      await page.getByTestId("compare-table").getByTestId("row").first().waitFor();
      // (the rows may come before the default baseline is filled in: wait for it)
      await page.waitForFunction(
        (base) => document.querySelector('[data-testid="compare-base"]')?.value === base,
        cfg.data.base_experiment,
        { timeout: 5000 },
      ).catch(() => {});
      const defaultBase = await page.getByTestId("compare-base").inputValue();
      check(defaultBase === cfg.data.base_experiment, `the default baseline: ${defaultBase}, not ${cfg.data.base_experiment}`);
      await page.getByTestId("compare-base").selectOption({ label: "(none)" });
      await page.getByTestId("compare-no-base").waitFor({ timeout: 5000 }).catch(() => check(false, "no baseline after picking (none)"));
      await page.reload();
      await page.getByTestId("compare-no-base").waitFor({ timeout: 5000 }).catch(() => check(false, `(none) lost on reload: ${page.url()}`));
      // It says the baseline was picked so (not that the experiment has none: it has one).
      const noneText = await page.getByTestId("compare-no-base").textContent();
      check(noneText.includes("(none)") && !noneText.includes("has no baseline"), `the (none) message: ${noneText}`);
      result.noneBase = await page.getByTestId("compare-base").evaluate((el) => el.options[el.selectedIndex].text);
    },
    // The experiments list of the project cfg.projectId: each experiment's figures as shown,
    // once they are all in (the test checks them against the server's summaries).
    async experimentfigures(page) {
      await signIn(page);
      await open(page, "experiments", "", cfg.projectId);
      const n = cfg.experiments;
      await page.waitForFunction(
        (n) => {
          const rows = [...document.querySelectorAll("[data-testid=experiments-table] [data-testid=row]")];
          const cols = [...document.querySelectorAll("[data-testid=experiments-table] .thead .th")].map((e) => e.getAttribute("data-col"));
          const i = cols.indexOf("traces");
          return rows.length === n && rows.every((r) => r.querySelectorAll(".td")[i]?.textContent);
        },
        n,
      );
      const names = await columnTexts(page, "experiments-table", "name");
      const figures = {};
      for (const col of ["traces", "errors", "duration", "tokens", "cost"]) figures[col] = await columnTexts(page, "experiments-table", col);
      result.figures = Object.fromEntries(
        names.map((name, i) => [name, Object.fromEntries(Object.entries(figures).map(([col, texts]) => [col, texts[i]]))]),
      );
    },
  };
}
