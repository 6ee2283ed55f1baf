// Gaps of the web UI found against ui-features.md (driven by tests/browser/test_ui_gaps.py):
// names typed with surrounding spaces are stored trimmed (the server refuses them with a 400),
// and "Upload CSV/JSON" on the datasets list creates a dataset from a file. Registered in
// e2e.mjs, which passes its helpers in.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function uiGapsFlows({ cfg, result, check, signIn, open, api, allowConsole, tableSettled }) {
  const pid = () => cfg.data.project_id;
  const stamp = () => Date.now().toString(36);

  return {
    // Each name field of the UI, typed with spaces around the name: stored trimmed, no error.
    async nametrim(page) {
      const answers = [];
      page.on("dialog", (d) => (d.type() === "prompt" ? d.accept(answers.shift() ?? "") : d.accept()));
      await signIn(page);
      const s = stamp();
      const stored = {};

      // An automation: created, then renamed in its editor.
      await open(page, "automations");
      await page.getByTestId("new-export").click();
      const form = page.getByTestId("automation-form");
      await form.getByTestId("automation-name").fill(`  spaced export ${s}  `);
      await form.getByTestId("export-path").fill("file://" + cfg.data.export_dir + "/spaced-" + s);
      await form.getByTestId("save-automation").click();
      await form.getByText(`Edit spaced export ${s}`).waitFor();
      check((await form.getByTestId("automation-error").count()) === 0, "no error");
      check((await form.getByTestId("automation-name").inputValue()) === `spaced export ${s}`, "the field shows the stored name");
      await form.getByTestId("automation-name").fill(` renamed export ${s}\t`);
      await form.getByTestId("save-automation").click();
      await form.getByText(`Edit renamed export ${s}`).waitFor();
      check((await form.getByTestId("automation-error").count()) === 0, "no error on the rename");
      const autos = (await api(page, `v1/project_automation?project_id=${pid()}`)).body.objects;
      const auto = autos.find((a) => a.name.includes(`export ${s}`));
      stored.automation = auto?.name;
      await form.getByTestId("close-form").click();
      // A name of spaces only cannot be saved.
      await page.getByTestId("new-retention").click();
      await form.getByTestId("automation-name").fill("   ");
      check(await form.getByTestId("save-automation").isDisabled(), "a blank name cannot be saved");
      await form.getByTestId("close-form").click();

      // A saved view, then renamed.
      await open(page, "logs");
      await tableSettled(page);
      await page.getByTestId("save-view").click();
      await page.getByTestId("view-name").fill(`  spaced view ${s} `);
      await page.getByTestId("view-name-ok").click();
      await page.getByTestId("rename-view").waitFor();
      await page.getByTestId("rename-view").click();
      await page.getByTestId("view-name").fill(` renamed view ${s}  `);
      await page.getByTestId("view-name-ok").click();
      await page.getByTestId("view-name").waitFor({ state: "detached" });
      check((await page.getByTestId("view-error").count()) === 0, `no view error: ${await page.getByTestId("view-error").allTextContents()}`);
      const views = (await api(page, `v1/view?object_type=project&object_id=${pid()}`)).body.objects;
      const view = views.find((v) => v.name.includes(`view ${s}`));
      stored.view = view?.name;

      // A dataset ("+ Dataset") and a named version of it, named and renamed.
      await open(page, "datasets");
      await page.getByTestId("new-dataset").fill(`  spaced dataset ${s} `);
      await page.getByTestId("new-dataset").press("Enter");
      await page.waitForURL(/#\/p\/[^/]+\/datasets\/[^/?]+/);
      const did = new URL(page.url()).hash.match(/datasets\/([^/?]+)/)[1];
      stored.dataset = (await api(page, `v1/dataset/${did}`)).body.name;
      const wrote = await api(page, `v1/dataset/${did}/insert`, { method: "POST", body: { events: [{ id: "r1", input: "hello" }] } });
      check(wrote.status === 200, `row written: ${JSON.stringify(wrote.body)}`);
      await open(page, `datasets/${did}`, "tab=versions");
      const versions = page.getByTestId("versions");
      answers.push(`  spaced v1 ${s} `);
      await versions.getByTestId("name-version").first().click();
      await versions.getByTestId("snapshot").filter({ hasText: `spaced v1 ${s}` }).waitFor();
      answers.push(` renamed v1 ${s}  `);
      await versions.getByTestId("snapshot").getByTestId("rename-snapshot").click();
      await versions.getByTestId("snapshot").filter({ hasText: `renamed v1 ${s}` }).waitFor();
      const message = await versions.getByTestId("versions-message").textContent();
      check(message === "Rename: done", `the rename's message: ${message}`);
      stored.snapshot = (await api(page, `v1/dataset/${did}/snapshots`)).body.objects.map((x) => x.name);
      result.stored = stored;
      // Other flows of the session expect the project's automations, views and datasets as seeded.
      for (const path of [`v1/project_automation/${auto.id}`, `v1/view/${view.id}`, `v1/dataset/${did}`])
        check((await api(page, path, { method: "DELETE" })).status === 200, `${path} deleted`);
    },

    // "Upload CSV/JSON" on the datasets list: a new dataset from a file, with the dataset
    // screen's column mapping; a taken name says so; a cancelled upload leaves no dataset.
    async listupload(page) {
      await signIn(page);
      const s = stamp();
      const dir = mkdtempSync(join(tmpdir(), "tracelake-list-upload-"));
      const file = join(dir, "questions.csv");
      writeFileSync(file, "question, answer ,topic.name\nWhere is my parcel?,In transit,shipping\nCan I return it?,Within 30 days,returns\n");
      const named = async (name) => (await api(page, `v1/dataset?project_id=${pid()}&dataset_name=${encodeURIComponent(name)}`)).body.objects;

      await open(page, "datasets");
      await page.getByTestId("datasets-table").getByTestId("dataset-row").first().waitFor();
      // Cancelled after naming: the dataset made for the upload is gone again.
      await page.getByTestId("upload-new-dataset-open").click();
      const naming = page.getByTestId("upload-new-dataset");
      await naming.getByTestId("upload-dataset-name").fill(`cancelled ${s}`);
      await naming.getByTestId("upload-dataset-next").click();
      const upload = page.getByTestId("upload-dialog");
      await upload.getByText(`Upload to the new dataset “cancelled ${s}”`).waitFor();
      await upload.getByRole("button", { name: "Cancel" }).click();
      await upload.waitFor({ state: "detached" });
      // (the dialog closes once the delete is answered)
      const left = await named(`cancelled ${s}`);
      check(left.length === 0, `the cancelled upload's dataset is deleted: ${JSON.stringify(left)}`);

      // A taken name says so, and creates nothing.
      const taken = (await api(page, `v1/dataset/${cfg.data.dataset_id}`)).body.name;
      await page.getByTestId("upload-new-dataset-open").click();
      await naming.getByTestId("upload-dataset-name").fill(taken);
      await naming.getByTestId("upload-dataset-next").click();
      const error = await naming.getByTestId("upload-dataset-error").textContent();
      check(error.includes("already exists"), `a taken name: ${error}`);
      result.taken = error;

      // A new name (with spaces around it): the file's columns mapped, imported, opened.
      await naming.getByTestId("upload-dataset-name").fill(`  uploaded ${s} `);
      await naming.getByTestId("upload-dataset-next").click();
      await upload.getByTestId("upload-file").setInputFiles(file);
      for (const c of ["question", "answer", "topic.name"]) await upload.getByTestId("bucket-input").getByTestId(`column-${c}`).waitFor();
      // A header cell with spaces around it is trimmed, and the preview says so.
      result.warnings = await upload.getByTestId("upload-warnings").textContent();
      await upload.getByTestId("column-answer").dragTo(upload.getByTestId("bucket-expected"));
      // (a column named with a dot is one key of metadata: metadata."topic.name")
      await upload.getByTestId("column-topic.name").locator("select").selectOption("metadata");
      await upload.getByTestId("bucket-expected").getByTestId("column-answer").waitFor();
      await upload.getByTestId("bucket-metadata").getByTestId("column-topic.name").waitFor();
      await upload.getByTestId("upload-preview").getByText("returns").waitFor();
      await upload.getByTestId("import").click();
      await page.waitForURL(/#\/p\/[^/]+\/datasets\/[^/?]+/);
      const [made] = await named(`uploaded ${s}`);
      check(made && new URL(page.url()).hash.includes(made.id), `the new dataset is opened: ${page.url()}`);
      await page.getByTestId("dataset-rows").getByTestId("row").nth(1).waitFor();
      const rows = await api(page, "btql", { method: "POST", body: { query: `select: input, expected, metadata | from: dataset('${made.id}') | sort: input` } });
      check(rows.status === 200, `rows: ${JSON.stringify(rows.body)}`);
      result.rows = rows.body.data;

      // A JSON file of records with their own input, expected and metadata (a dataset's
      // export): each column goes to its field as is; its metadata object was nested under
      // its own name ({"metadata": {"topic": …}}), as a CSV column's is.
      const json = join(dir, "export.json");
      writeFileSync(json, JSON.stringify([{ input: { q: "json one" }, expected: "a", metadata: { topic: "json", n: 1 } }]));
      await page.getByTestId("upload").click();
      await upload.getByTestId("upload-file").setInputFiles(json);
      await upload.getByTestId("bucket-metadata").getByTestId("column-metadata").waitFor();
      await upload.getByTestId("upload-preview").getByText("json one").waitFor();
      await upload.getByTestId("import").click();
      await upload.waitFor({ state: "detached" });
      const imported = await api(page, "btql", { method: "POST", body: { query: `select: input, metadata | from: dataset('${made.id}') | filter: input.q = 'json one'` } });
      check(JSON.stringify(imported.body.data?.[0]?.metadata) === '{"topic":"json","n":1}', `the JSON record's metadata as is: ${JSON.stringify(imported.body)}`);
      check((await api(page, `v1/dataset/${made.id}`, { method: "DELETE" })).status === 200, "cleaned up");
    },

    // Delete an automation, a dataset and an experiment from their lists (there was no control
    // for it): each asks first, goes from the list and from the server; a read-only key's
    // delete shows the server's refusal and the row stays.
    async deletes(page) {
      const asked = [];
      page.on("dialog", (d) => {
        asked.push(d.message());
        d.accept();
      });
      await signIn(page);
      const s = stamp();
      const made = async (path, body) => {
        const res = await api(page, path, { method: "POST", body });
        check(res.status === 200, `${path}: ${JSON.stringify(res.body)}`);
        return res.body;
      };
      const auto = await made("v1/project_automation", {
        project_id: pid(),
        name: `doomed-auto-${s}`,
        config: { event_type: "retention", object_type: "project_logs", retention_days: 365 },
      });
      const ds = await made("v1/dataset", { project_id: pid(), name: `doomed-ds-${s}` });
      await made(`v1/dataset/${ds.id}/insert`, { events: [{ id: "a", input: 1 }, { id: "b", input: 2 }] });
      const kept = await made("v1/dataset", { project_id: pid(), name: `kept-ds-${s}` });
      const exp = await made("v1/experiment", { project_id: pid(), name: `doomed-exp-${s}` });
      const gone = async (path) => (await api(page, path)).status === 404;

      await open(page, "automations");
      const autoRow = page.getByTestId("automation-row").filter({ hasText: auto.name });
      await autoRow.getByTestId("delete-automation").click();
      await autoRow.waitFor({ state: "detached" });
      check(await gone(`v1/project_automation/${auto.id}`), "the automation is deleted");

      await open(page, "datasets");
      const dsRow = page.getByTestId("dataset-row").filter({ hasText: ds.name });
      await dsRow.getByText("2", { exact: true }).waitFor(); // its row count, named in the question
      await dsRow.getByTestId("dataset-delete").click();
      await dsRow.waitFor({ state: "detached" });
      check(await gone(`v1/dataset/${ds.id}`), "the dataset is deleted");

      await open(page, "experiments");
      const expRow = page.getByTestId("experiments-table").getByTestId("row").filter({ hasText: exp.name });
      await expRow.getByTestId("pick-experiment").check();
      await page.getByTestId("delete-experiments").filter({ hasText: `Delete ${exp.name}` }).click();
      await expRow.waitFor({ state: "detached" });
      check(await gone(`v1/experiment/${exp.id}`), "the experiment is deleted");
      check((await page.getByTestId("delete-experiments").textContent()) === "Delete", "nothing picked any more");

      // A read-only key: refused, said so, the dataset stays listed and stored.
      await page.goto(cfg.url + "/#/login");
      await page.getByTestId("api-key").fill(cfg.read_key);
      await page.getByTestId("sign-in").click();
      await page.waitForURL(/#\/p\/[^/]+\/logs/);
      await open(page, "datasets");
      const keptRow = page.getByTestId("dataset-row").filter({ hasText: kept.name });
      await keptRow.getByTestId("dataset-delete").click();
      const refused = await page.getByTestId("dataset-delete-error").textContent();
      check(refused === `${kept.name} not deleted: this API key is read-only`, `refused: ${refused}`);
      check((await keptRow.count()) === 1 && !(await gone(`v1/dataset/${kept.id}`)), "the dataset stays");
      result.asked = asked;
      check((await api(page, `v1/dataset/${kept.id}`, { method: "DELETE" })).status === 200, "cleaned up (admin)");
    },

    // "New project…" in the project switcher (the UI could not create a project): a taken name
    // says so, a new one (typed with spaces around it) is created trimmed and opened.
    async newproject(page) {
      await signIn(page);
      const s = stamp();
      const switcher = page.getByTestId("project-switcher");
      const taken = (await api(page, `v1/project/${pid()}`)).body.name;
      await switcher.selectOption("+");
      const dialog = page.getByTestId("new-project");
      await dialog.getByTestId("new-project-name").fill(` ${taken} `);
      await dialog.getByTestId("create-project").click();
      result.taken = await dialog.getByTestId("new-project-error").textContent();
      await dialog.getByTestId("new-project-name").fill(`  fresh project ${s} `);
      await dialog.getByTestId("create-project").click();
      await dialog.waitFor({ state: "detached" });
      const [made] = (await api(page, `v1/project?project_name=${encodeURIComponent(`fresh project ${s}`)}`)).body.objects;
      try {
        check(made, "the project is stored under the trimmed name");
        await page.waitForURL(new RegExp(`#/p/${made.id}/logs`));
        await page.getByTestId("nav-logs").waitFor();
        result.selected = await switcher.locator("option:checked").textContent();
      } finally {
        // Projects are listed newest first: the other flows open the first one.
        if (made) check((await api(page, `v1/project/${made.id}`, { method: "DELETE" })).status === 200, "cleaned up");
      }
    },

    // A comment can be deleted from the span's detail (it could not): asked first, gone from the
    // panel and from the stored row; the other comment stays.
    async commentdelete(page) {
      page.on("dialog", (d) => d.accept());
      await signIn(page);
      const row = "trace-0014";
      const feedback = (comment) => api(page, `v1/project_logs/${pid()}/feedback`, { method: "POST", body: { feedback: [{ id: row, comment }] } });
      check((await feedback("keep me")).status === 200 && (await feedback("delete me")).status === 200, "comments written");
      const stored = async () => {
        const res = await api(page, "btql", { method: "POST", body: { query: `select: comments | from: project_logs('${pid()}') | filter: id = '${row}'` } });
        return (res.body.data[0].comments || []).map((c) => c.comment.text);
      };
      await open(page, "logs", `filter=${encodeURIComponent(`id = '${row}'`)}&tab=btql`);
      await tableSettled(page);
      await page.getByTestId("logs-table").getByTestId("row").first().click();
      const comments = page.getByTestId("span-detail").getByTestId("comments");
      const doomed = comments.getByTestId("comment").filter({ hasText: "delete me" });
      await doomed.getByTestId("comment-delete").click();
      await doomed.waitFor({ state: "detached" });
      await comments.getByTestId("comment").filter({ hasText: "keep me" }).waitFor();
      result.stored = await stored();
      check((await comments.getByTestId("comment-error").count()) === 0, "no error");
    },

    // The API keys screen (there was none: keys were made with the CLI or the API): a key made
    // with a name typed with spaces (stored trimmed), its secret shown once and working, then
    // revoked (it stops working); a read-only key is told it cannot manage keys.
    // Names without spaces longer than the screen (a key's, the user it acts as; an automation's,
    // a dataset's), at 1280 × 800: the lists wrap them, their buttons stay on screen, and the
    // span detail's "Assign to…" (which lists the users) stays in its panel. The table went
    // 2,800 px wide, Revoke, Delete and Status with it; the select as wide as the longest name.
    async longnames(page) {
      await page.setViewportSize({ width: 1280, height: 800 });
      await signIn(page);
      const long = (c) => c.repeat(300) + stamp();
      const key = await api(page, "v1/api_key", { method: "POST", body: { name: long("K"), role: "read" } });
      const auto = await api(page, "v1/project_automation", {
        method: "POST",
        body: { project_id: pid(), name: long("A"), config: { event_type: "retention", object_type: "project_logs", retention_days: 365 } },
      });
      const ds = await api(page, "v1/dataset", { method: "POST", body: { project_id: pid(), name: long("D") } });
      const offscreen = () =>
        page.evaluate(() => {
          const out = [];
          for (const el of document.querySelectorAll("button, select, a")) {
            const r = el.getBoundingClientRect();
            if (r.width > 0 && r.right > window.innerWidth) out.push(`${el.getAttribute("data-testid") || el.tagName} at ${Math.round(r.right)} px`);
          }
          return { width: document.documentElement.scrollWidth, out };
        });
      const seen = {};
      try {
        await open(page, "keys");
        await page.getByTestId("key-row").filter({ hasText: "K".repeat(50) }).waitFor();
        seen.keys = await offscreen();
        await open(page, "automations");
        await page.getByTestId("automation-row").filter({ hasText: "A".repeat(50) }).waitFor();
        seen.automations = await offscreen();
        await open(page, "datasets");
        await page.getByTestId("dataset-row").filter({ hasText: "D".repeat(50) }).waitFor();
        seen.datasets = await offscreen();
        await open(page, "logs");
        await tableSettled(page);
        await page.getByTestId("logs-table").getByTestId("row").first().click();
        const assign = page.getByTestId("span-detail").getByTestId("assign-review");
        await assign.locator("option", { hasText: "K".repeat(50) }).waitFor({ state: "attached" });
        const panel = await page.getByTestId("trace-panel").boundingBox();
        const select = await assign.boundingBox();
        seen.assign = { ...(await offscreen()), inPanel: select.x + select.width <= panel.x + panel.width };
        // Group by Tag, a tag as long (in a project of its own): its count stays in sight.
        const proj = await api(page, "v1/project", { method: "POST", body: { name: `long-tags-${stamp()}` } });
        const tag = long("T");
        await api(page, `v1/project_logs/${proj.body.id}/insert`, { method: "POST", body: { events: [{ id: "long-tag", input: "q", tags: [tag] }] } });
        await open(page, "logs", "group=tags", proj.body.id);
        const count = page.getByTestId("group").filter({ hasText: "T".repeat(50) }).getByTestId("group-count");
        await count.waitFor();
        const groups = await page.getByTestId("groups").boundingBox();
        const cell = await count.boundingBox();
        seen.groups = { ...(await offscreen()), countInSight: cell.x + cell.width <= groups.x + groups.width };
        await api(page, `v1/project/${proj.body.id}`, { method: "DELETE" });
        // A saved sandbox query of such a name: its ✎ and × stay in the sidebar.
        const qname = long("Q");
        const answer = (d) => (d.type() === "prompt" ? d.accept(qname) : d.accept());
        page.on("dialog", answer);
        // (the saved queries answered late: Save clicked before they are in did nothing)
        const views = (u) => u.pathname.endsWith("/v1/view");
        await page.route(views, async (r) => {
          if (r.request().method() === "GET") await new Promise((done) => setTimeout(done, 1500));
          await r.continue();
        });
        await open(page, "sandbox");
        await page.getByTestId("save-query").click();
        await page.unroute(views);
        const item = page.getByTestId("saved-query").filter({ hasText: "Q".repeat(50) });
        await item.waitFor();
        const side = await page.getByTestId("saved-queries").boundingBox();
        const rights = await item.locator("[data-testid=saved-rename], [data-testid=saved-delete]").evaluateAll((els) => els.map((e) => e.getBoundingClientRect().right));
        seen.saved = { ...(await offscreen()), inSidebar: rights.length === 2 && rights.every((r) => r <= side.x + side.width) };
        await item.getByTestId("saved-delete").click();
        await item.waitFor({ state: "detached" });
        page.off("dialog", answer);
      } finally {
        await api(page, `v1/api_key/${key.body.id}`, { method: "DELETE" });
        await api(page, `v1/project_automation/${auto.body.id}`, { method: "DELETE" });
        await api(page, `v1/dataset/${ds.body.id}`, { method: "DELETE" });
      }
      result.seen = seen;
    },

    // A file whose column name is longer than the dialog, with cells that make the dialog taller
    // than the screen (1280 × 800): each column's "Move to" menu stays in the dialog (the name
    // widened the boxes past it), and the file preview is shown (it shrank to nothing), then
    // the column moved with its menu lands in its box.
    async uploadlong(page) {
      await page.setViewportSize({ width: 1280, height: 800 });
      await signIn(page);
      const name = "H".repeat(400);
      const dir = mkdtempSync(join(tmpdir(), "upload-long-"));
      const file = join(dir, "long.csv");
      writeFileSync(file, `question,${name}
"${"why ".repeat(300)}",1
"${"how ".repeat(300)}",2
`);
      const ds = await api(page, "v1/dataset", { method: "POST", body: { project_id: pid(), name: `upload-long-${stamp()}` } });
      try {
        await open(page, `datasets/${ds.body.id}`);
        await page.getByTestId("upload").click();
        const upload = page.getByTestId("upload-dialog");
        await upload.getByTestId("upload-file").setInputFiles(file);
        const chip = upload.getByTestId(`column-${name}`);
        await chip.waitFor();
        await upload.getByTestId("upload-preview").getByText("why").first().waitFor();
        const box = await upload.boundingBox();
        const menus = await upload.locator(".column-chip select").evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().right)));
        result.menusInside = menus.every((right) => right <= box.x + box.width);
        result.menus = menus;
        result.previewHeight = await upload.locator(".preview-table").evaluate((e) => e.getBoundingClientRect().height);
        result.taller = await upload.evaluate((e) => e.scrollHeight > e.clientHeight);
        await chip.locator("select").selectOption("metadata");
        await upload.getByTestId("bucket-metadata").getByTestId(`column-${name}`).waitFor();
      } finally {
        await api(page, `v1/dataset/${ds.body.id}`, { method: "DELETE" });
      }
    },

    // Live with the server out of reach (every query refused at the network): the status bar
    // says the table is not refreshed (it said "live" over rows standing still), and once the
    // server answers again, "live" alone.
    async liveoffline(page) {
      await signIn(page);
      allowConsole(/^Failed to load resource: net::ERR_FAILED/);
      await open(page, "logs", "live=1");
      await tableSettled(page);
      const bar = page.getByTestId("statusbar");
      const btqlUrl = (u) => u.pathname.endsWith("/btql");
      await page.route(btqlUrl, (r) => r.abort("failed"));
      const error = bar.getByTestId("live-error");
      await error.waitFor();
      result.down = await bar.textContent();
      await page.unroute(btqlUrl);
      await error.waitFor({ state: "detached" });
      result.up = await bar.textContent();
    },

    async apikeys(page) {
      page.on("dialog", (d) => d.accept());
      await signIn(page);
      const s = stamp();
      await open(page, "keys");
      const screen = page.getByTestId("api-keys");
      await screen.getByTestId("key-row").filter({ hasText: "this session" }).waitFor();
      await screen.getByTestId("new-key-name").fill(`  helper ${s} `);
      await screen.getByTestId("new-key-role").selectOption("read");
      await screen.getByTestId("create-key").click();
      const secret = await screen.getByTestId("new-key-secret").textContent();
      const row = screen.getByTestId("key-row").filter({ hasText: `helper ${s}` });
      await row.waitFor();
      const [stored] = (await api(page, "v1/api_key?limit=1000")).body.objects.filter((k) => k.name.includes(`helper ${s}`));
      result.stored = { name: stored.name, role: stored.role };
      check((await api(page, `v1/project/${pid()}`, { key: secret })).status === 200, "the new key works");
      await row.getByTestId("revoke-key").click();
      await row.waitFor({ state: "detached" });
      check((await api(page, `v1/project/${pid()}`, { key: secret })).status === 401, "the revoked key is refused");
      // The key this session is signed in with, revoked: the session ends and the sign-in
      // screen opens (the screen stayed, listing the revoked key, every call refused).
      const own = (await api(page, "v1/api_key", { method: "POST", body: { name: `own ${s}`, role: "admin" } })).body;
      await page.goto(cfg.url + "/#/login");
      await page.getByTestId("api-key").fill(own.key);
      await page.getByTestId("sign-in").click();
      await page.waitForURL(/#\/p\/[^/]+\/logs/);
      await open(page, "keys");
      const ownRow = screen.getByTestId("key-row").filter({ hasText: "this session" });
      check((await ownRow.locator("td").first().textContent()).includes(`own ${s}`), "signed in with the new key");
      await ownRow.getByTestId("revoke-key").click();
      await page.waitForURL(/#\/login$/);
      await page.getByTestId("api-key").waitFor();
      check((await api(page, `v1/project/${pid()}`, { key: own.key })).status === 401, "the session's key is revoked");
      // A read-only key.
      await page.goto(cfg.url + "/#/login");
      await page.getByTestId("api-key").fill(cfg.read_key);
      await page.getByTestId("sign-in").click();
      await page.waitForURL(/#\/p\/[^/]+\/logs/);
      await open(page, "keys");
      result.readonly = await page.getByTestId("keys-load-error").textContent();
      check((await page.getByTestId("keys-table").count()) === 0, "no list for a read-only key");
    },

    // A dataset and an experiment renamed from their screens (there was no control for it): the
    // name typed with spaces is stored trimmed; a name another one has shows the server's refusal.
    async renames(page) {
      const answers = [];
      page.on("dialog", (d) => d.accept(answers.shift() ?? ""));
      await signIn(page);
      const s = stamp();
      const made = async (path, body) => (await api(page, path, { method: "POST", body })).body;
      const ds = await made("v1/dataset", { project_id: pid(), name: `to-rename-ds-${s}` });
      const exp = await made("v1/experiment", { project_id: pid(), name: `to-rename-exp-${s}` });
      const taken = (await api(page, `v1/dataset/${cfg.data.dataset_id}`)).body.name;
      try {
        await open(page, `datasets/${ds.id}`);
        answers.push(`  renamed-ds-${s} `);
        await page.getByTestId("rename-dataset").click();
        await page.locator("h2", { hasText: `renamed-ds-${s}` }).waitFor();
        answers.push(taken);
        await page.getByTestId("rename-dataset").click();
        result.datasetRefused = await page.getByTestId("dataset-error").textContent();
        result.dataset = (await api(page, `v1/dataset/${ds.id}`)).body.name;

        await open(page, `experiments/${exp.id}`);
        answers.push(` renamed-exp-${s}\t`);
        await page.getByTestId("rename-experiment").click();
        await page.getByTestId("experiment-details").locator("h2", { hasText: `renamed-exp-${s}` }).waitFor();
        result.experiment = (await api(page, `v1/experiment/${exp.id}`)).body.name;
      } finally {
        await api(page, `v1/dataset/${ds.id}`, { method: "DELETE" });
        await api(page, `v1/experiment/${exp.id}`, { method: "DELETE" });
      }
    },

    // A sandbox download the server refuses says why (it failed without a word): the dataset a
    // query ran on is deleted before its rows are downloaded.
    async sandboxdownload(page) {
      await signIn(page);
      const made = await api(page, "v1/dataset", { method: "POST", body: { project_id: pid(), name: `short-lived-${stamp()}` } });
      const id = made.body.id;
      await api(page, `v1/dataset/${id}/insert`, { method: "POST", body: { events: [{ id: "a", input: 1 }] } });
      const query = `select: id, input | from: dataset('${id}')`;
      await open(page, "sandbox", "q=" + encodeURIComponent(query));
      await page.getByTestId("run-query").click();
      await page.getByTestId("result-count").getByText("1 rows").waitFor();
      check((await api(page, `v1/dataset/${id}`, { method: "DELETE" })).status === 200, "deleted through the API");
      await page.getByTestId("download-csv").click();
      result.message = await page.getByTestId("query-error").textContent();
    },

    // Figures of the lists that fail to load say so: an automation's last run (it said "never"),
    // a dataset's row count and the experiments' scores (blank, as if there were none).
    async listerrors(page) {
      await signIn(page);
      allowConsole(/^Failed to load resource: the server responded with a status of 500 /);
      const fail = (re, message) =>
        page.route((u) => re.test(u.pathname), (r) => r.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ error: { type: "Internal", message } }) }));
      await fail(/\/v1\/project_automation\/[^/]+\/runs$/, "runs unavailable");
      await fail(/\/v1\/dataset\/[^/]+\/summarize$/, "summary unavailable");
      await fail(/\/v1\/experiment\/[^/]+\/summarize$/, "scores unavailable");
      const auto = await api(page, "v1/project_automation", {
        method: "POST",
        body: { project_id: pid(), name: `listerrors-${stamp()}`, config: { event_type: "retention", object_type: "project_logs", retention_days: 365 } },
      });
      try {
        await open(page, "automations");
        const row = page.getByTestId("automation-row").filter({ hasText: auto.body.name });
        result.lastRun = await row.getByTestId("last-run").getByText("not loaded").textContent();
        await open(page, "datasets");
        result.count = await page.getByTestId("dataset-row").first().getByTestId("dataset-count").getByText("not loaded").textContent();
        await open(page, "experiments");
        result.scores = await page.getByTestId("experiments-error").textContent();
        // The list itself not loaded: its table said "Loading…" for ever under the error.
        await open(page, "logs");
        await fail(/\/v1\/experiment$/, "experiments unavailable");
        await open(page, "experiments");
        result.listError = await page.getByTestId("experiments-error").textContent();
        result.listEmpty = await page.getByTestId("experiments-table").locator(".empty").textContent();
      } finally {
        await api(page, `v1/project_automation/${auto.body.id}`, { method: "DELETE" });
      }
    },
  };
}
