// Browser flows of the datasets screen's columns, attachments, field schemas as you type and
// server-side stars, and of the sandbox's saved queries. Registered in e2e.mjs, which passes
// its helpers in. Each flow checks what the server stored, not only what the page shows.

import { readFileSync } from "node:fs";

// A 2×2 PNG (red, green / blue, white).
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==",
  "base64",
);

export function datasets2Flows({ cfg, result, check, shot, signIn, open }) {
  /** Call the API from the page with a key (the admin key by default). */
  const api = (page, method, path, body, key = cfg.key) =>
    page.evaluate(
      async ({ method, path, body, key }) => {
        const res = await fetch(path, {
          method,
          headers: { Authorization: `Bearer ${key}`, ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
          body: body !== undefined ? JSON.stringify(body) : undefined,
        });
        return { status: res.status, body: await res.json().catch(() => null) };
      },
      { method, path, body, key },
    );
  const btqlRows = async (page, query) => {
    const res = await api(page, "POST", "btql", { query });
    check(res.status === 200, `btql ${query}: ${JSON.stringify(res.body)}`);
    return res.body.data;
  };
  const hashParams = (page) => new URLSearchParams(new URL(page.url()).hash.split("?")[1] || "");
  /** The text of one column's cells, top to bottom (by the header's position). */
  const columnTexts = async (page, table, colId) => {
    const t = page.getByTestId(table);
    const headers = await t.locator(".thead .th").evaluateAll((els) => els.map((e) => e.getAttribute("data-col")));
    const index = headers.indexOf(colId);
    check(index >= 0, `column ${colId} shown: ${headers}`);
    return t.getByTestId("row").evaluateAll((rows, i) => rows.map((r) => r.querySelectorAll(".td")[i].textContent), index);
  };
  const headerIds = (page, table) => page.getByTestId(table).locator(".thead .th").evaluateAll((els) => els.map((e) => e.getAttribute("data-col")));
  const ds = () => cfg.data.dataset2_id;
  /** Read until the value equals the expected one (the page reloads rows), at most 5 s. */
  const settle = async (read, expected) => {
    let value = await read();
    for (let i = 0; i < 50 && JSON.stringify(value) !== JSON.stringify(expected); i++) {
      await new Promise((r) => setTimeout(r, 100));
      value = await read();
    }
    return value;
  };

  return {
    async datasetcolumns(page) {
      await signIn(page);
      await open(page, `datasets/${ds()}`);
      await page.getByTestId("dataset-rows").getByTestId("row").first().waitFor();
      // Hide Metadata, show Id and move it first.
      await page.getByTestId("columns-button").click();
      const chooser = page.getByTestId("column-chooser");
      await chooser.locator(".chooser-row", { hasText: "Metadata" }).locator("input[type=checkbox]").uncheck();
      await chooser.locator(".chooser-row", { hasText: /^\s*Id/ }).locator("input[type=checkbox]").check();
      for (let i = 0; i < 6; i++) {
        const row = chooser.locator(".chooser-row", { hasText: /^\s*Id/ });
        await row.getByTitle("Move up").click();
      }
      await page.waitForFunction(() => /cols=id%2C|cols=id,/.test(location.hash));
      // A field-path column (metadata.category is offered from the data).
      const offered = await chooser.locator("#chooser-fields option").evaluateAll((os) => os.map((o) => o.value));
      check(offered.includes("metadata.category") && offered.includes("input.question"), `field paths offered: ${offered}`);
      await page.getByTestId("add-field-column").fill("metadata.level");
      await page.getByTestId("add-field-column").press("Enter");
      await page.getByTestId("add-field-column").fill("metadata.category");
      await page.getByTestId("add-field-column").press("Enter");
      // An expression column, saved on the dataset.
      await page.getByTestId("expr-column-name").fill("hard");
      await page.getByTestId("expr-column-expr").fill("metadata.level >= 3");
      await page.getByTestId("expr-column-add").click();
      await chooser.getByTestId("expression-column").filter({ hasText: "hard" }).waitFor();
      // A bad expression is refused with the server's message.
      await page.getByTestId("expr-column-name").fill("broken");
      await page.getByTestId("expr-column-expr").fill("metadata.level >=");
      await page.getByTestId("expr-column-add").click();
      await page.getByTestId("expr-column-error").waitFor();
      await shot(page, "dataset-columns");
      await page.getByTestId("columns-button").click(); // close
      const cols = hashParams(page).get("cols").split(",");
      check(
        JSON.stringify(cols) === JSON.stringify(["id", "created", "input", "expected", "tags", "attachments", "f:metadata.level", "f:metadata.category", "c:hard"]),
        `columns in the URL: ${cols}`,
      );
      const shown = await headerIds(page, "dataset-rows");
      check(JSON.stringify(shown) === JSON.stringify([...cols, "actions"]), `columns shown: ${shown}`);
      const stored = await api(page, "GET", `v1/dataset/${ds()}/columns`);
      check(JSON.stringify(stored.body.objects.map((c) => [c.name, c.expr])) === '[["hard","metadata.level >= 3"]]', `stored columns ${JSON.stringify(stored.body)}`);
      // The expression column's values are the server's.
      const server = await btqlRows(page, `select: id, hard | from: dataset('${ds()}') | sort: id asc`);
      const ids = await columnTexts(page, "dataset-rows", "id");
      const hard = await columnTexts(page, "dataset-rows", "c:hard");
      const byId = Object.fromEntries(server.map((r) => [r.id, String(r.hard)]));
      check(ids.length === cfg.data.dataset2_rows && ids.every((id, i) => byId[id] === hard[i]), `hard column ${hard} vs ${JSON.stringify(byId)}`);
      // Sort on the server by the field column, descending (two clicks), and by the expression.
      const header = page.getByTestId("dataset-rows").locator('.th[data-col="f:metadata.level"]');
      await header.click();
      await page.waitForFunction(() => /sort=f(%3A|:)metadata\.level(%3A|:)asc/.test(location.hash));
      await header.click();
      await page.waitForFunction(() => /sort=f(%3A|:)metadata\.level(%3A|:)desc/.test(location.hash));
      await page.waitForFunction(() => document.querySelector('[data-testid=dataset-rows] .th[data-col="f:metadata.level"]').textContent.includes("▼"));
      const levelsServer = (await btqlRows(page, `select: metadata.level as l | from: dataset('${ds()}') | sort: metadata.level desc`)).map((r) => r.l);
      const levels = await settle(async () => (await columnTexts(page, "dataset-rows", "f:metadata.level")).map(Number), levelsServer);
      check(JSON.stringify(levels) === JSON.stringify(levelsServer), `sorted levels ${levels} vs ${levelsServer}`);
      check(levels.length === cfg.data.dataset2_rows, "every row shown");
      result.sorted = levels;
      // After a reload the columns and the sort are the same (they are in the URL).
      await page.reload();
      await page.getByTestId("dataset-rows").getByTestId("row").first().waitFor();
      check(JSON.stringify(await headerIds(page, "dataset-rows")) === JSON.stringify([...cols, "actions"]), "columns kept after a reload");
      // Sorting by the expression column asks the server too.
      await page.getByTestId("dataset-rows").locator('.th[data-col="c:hard"]').click();
      await page.waitForFunction(() => /sort=c(%3A|:)hard(%3A|:)asc/.test(location.hash));
      await page.waitForFunction(() => document.querySelector('[data-testid=dataset-rows] .th[data-col="c:hard"]').textContent.includes("▲"));
      const hardServer = (await btqlRows(page, `select: hard | from: dataset('${ds()}') | sort: hard asc`)).map((r) => String(r.hard));
      const hardSorted = await settle(() => columnTexts(page, "dataset-rows", "c:hard"), hardServer);
      check(JSON.stringify(hardSorted) === JSON.stringify(hardServer), `sorted by hard: ${hardSorted} vs ${hardServer}`);
    },

    // The rows' BTQL filter: an error says where in the filter (it gave the position in the
    // whole query the screen builds, "at 1:95"); a `--` comment at its end works (it swallowed the
    // closing parenthesis and every clause after it); Export writes the rows shown (it wrote every
    // row of the dataset, whatever the filter and search).
    async datasetfilter(page) {
      await signIn(page);
      await open(page, `datasets/${ds()}`);
      const table = page.getByTestId("dataset-rows");
      await table.getByTestId("row").first().waitFor();
      const apply = async (filter) => {
        await page.getByTestId("dataset-filter").fill(filter);
        await page.getByTestId("dataset-apply").click();
        await page.waitForFunction((f) => new URLSearchParams(location.hash.split("?")[1] || "").get("filter") === f, filter);
      };
      await apply("metadata.category = ");
      const error = page.locator(".page > .error");
      await error.waitFor();
      const message = await error.textContent();
      check(/in the filter, line 1, column 21\)$/.test(message) && !/ at \d+:\d+/.test(message), `the filter's error: ${message}`);
      result.error = message;
      const billing = await btqlRows(page, `select: id | from: dataset('${ds()}') | filter: metadata.category = 'billing' | limit: 1000`);
      check(billing.length > 0, "billing rows");
      await apply("metadata.category = 'billing' -- billing only");
      await settle(() => table.getByTestId("row").count(), billing.length);
      check((await error.count()) === 0, `no error: ${await error.allTextContents()}`);
      const shown = await table.getByTestId("row").count();
      check(shown === billing.length, `rows under a commented filter: ${shown}, the API's ${billing.length}`);
      result.shown = shown;
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("dataset-export").click()]);
      const lines = readFileSync(await download.path(), "utf8").split("\n").filter((l) => l.trim());
      // csv: a header line, then one line per row (the questions hold no new lines)
      check(lines.length - 1 === billing.length, `exported rows: ${lines.length - 1}, the API's ${billing.length}`);
      result.exported = lines.length - 1;
      // The Basic filter (field / operator / value, as on the logs screen): its rows are the
      // API's, it is in the URL (a reload keeps it), and Clear removes it.
      await open(page, `datasets/${ds()}`);
      await table.getByTestId("row").first().waitFor();
      await page.getByTestId("add-cond").click();
      const cond = page.getByTestId("cond").first();
      await cond.locator("input").first().fill("metadata.category");
      await cond.locator("select").selectOption("=");
      await cond.locator("input").nth(1).fill("shipping");
      await page.getByTestId("apply-conds").click();
      const shipping = await btqlRows(page, `select: id | from: dataset('${ds()}') | filter: metadata.category = 'shipping' | limit: 1000`);
      check(shipping.length > 0 && shipping.length !== billing.length, `shipping rows: ${shipping.length}`);
      const conds = JSON.parse(hashParams(page).get("conds") || "[]");
      check(JSON.stringify(conds) === JSON.stringify([{ field: "metadata.category", op: "=", value: "shipping" }]), `conds in the URL: ${JSON.stringify(conds)}`);
      check((await settle(() => table.getByTestId("row").count(), shipping.length)) === shipping.length, `rows under the Basic filter: ${await table.getByTestId("row").count()}`);
      await page.reload();
      await table.getByTestId("row").first().waitFor();
      check((await settle(() => table.getByTestId("row").count(), shipping.length)) === shipping.length, "the Basic filter after a reload");
      await page.getByText("Clear").click();
      await page.waitForFunction(() => !new URLSearchParams(location.hash.split("?")[1] || "").get("conds"));
      check((await settle(() => table.getByTestId("row").count(), cfg.data.dataset2_rows)) === cfg.data.dataset2_rows, "every row after Clear");
      result.basic = shipping.length;
    },

    // A row's URL opened in a tab that shows another row's editor (a link pasted, back and
    // forward): the editor shows that row (it kept the first one's fields); the row gone from
    // the URL closes it, and another dataset's URL shows no editor of this one's row (both
    // stayed open).
    async datasetrowlinks(page) {
      await signIn(page);
      const other = await api(page, "POST", "v1/dataset", { project_id: cfg.data.project_id, name: `row-links-${Date.now()}` });
      check(other.status === 200, `dataset made: ${JSON.stringify(other.body)}`);
      try {
        const editor = page.getByTestId("row-editor");
        const input = editor.getByTestId("edit-input");
        const shown = {};
        for (const id of ["c00", "c01"]) {
          await open(page, `datasets/${ds()}`, `row=${id}`);
          const [row] = await btqlRows(page, `select: input | from: dataset('${ds()}') | filter: id = '${id}'`);
          const want = JSON.stringify(row.input, null, 2);
          shown[id] = await settle(() => input.inputValue(), want);
          check(shown[id] === want, `row ${id}'s input in its editor: ${shown[id]}`);
        }
        await open(page, `datasets/${ds()}`);
        await page.getByTestId("dataset-rows").getByTestId("row").first().waitFor();
        check((await settle(() => editor.count(), 0)) === 0, "no editor once the URL names no row");
        await open(page, `datasets/${ds()}`, "row=c00");
        await input.waitFor();
        await open(page, `datasets/${other.body.id}`);
        await page.getByTestId("dataset-rows").getByText("No rows").waitFor();
        result.editorsOnOther = await editor.count();
        result.shown = shown;
      } finally {
        await api(page, "DELETE", `v1/dataset/${other.body.id}`);
      }
    },

    async datasetattachments(page) {
      await signIn(page);
      // The row came from a log span (its origin): an edit keeps that, and its created.
      const origin = { object_type: "project_logs", object_id: cfg.data.project_id, id: "span-c01" };
      await api(page, "POST", `v1/dataset/${ds()}/insert`, { events: [{ id: "c01", _is_merge: true, origin }] });
      const [before] = await btqlRows(page, `select: created, origin | from: dataset('${ds()}') | filter: id = 'c01'`);
      check(before.origin?.id === "span-c01", `origin written: ${JSON.stringify(before)}`);
      await open(page, `datasets/${ds()}`, "filter=" + encodeURIComponent("id = 'c01'"));
      const table = page.getByTestId("dataset-rows");
      await table.getByTestId("row").first().waitFor();
      await table.getByTestId("edit-row").first().click();
      const editor = page.getByTestId("row-editor");
      await editor.getByTestId("attach-field").selectOption("metadata");
      await editor.getByTestId("attach-name").fill("screenshot");
      await editor.getByTestId("attach-file").setInputFiles({ name: "receipt.png", mimeType: "image/png", buffer: PNG });
      const view = editor.getByTestId("attachment").filter({ hasText: "receipt.png" });
      await view.getByTestId("attachment-preview").waitFor();
      await page.waitForFunction(() => document.querySelector("[data-testid=attachment-preview]")?.naturalWidth === 2);
      check((await view.getByTestId("attachment-size").textContent()) === `${PNG.length} B`, "the size is shown");
      check((await view.getByTestId("attachment-type").textContent()) === "image/png", "the type is shown");
      await editor.getByTestId("save-row").click();
      await editor.waitFor({ state: "detached" });
      // Stored: the row's metadata holds the reference, the server has the bytes.
      const [row] = await btqlRows(page, `select: metadata | from: dataset('${ds()}') | filter: id = 'c01'`);
      const ref = row.metadata.screenshot;
      check(ref?.type === "braintrust_attachment" && ref.filename === "receipt.png" && ref.content_type === "image/png", `stored reference ${JSON.stringify(row.metadata)}`);
      check(row.metadata.category !== undefined, "the other metadata keys are kept");
      const [edited] = await btqlRows(page, `select: created, origin | from: dataset('${ds()}') | filter: id = 'c01'`);
      check(JSON.stringify(edited) === JSON.stringify(before), `the edit kept origin and created: ${JSON.stringify(edited)}, was ${JSON.stringify(before)}`);
      const meta = await api(page, "GET", `attachment?key=${ref.key}`);
      check(meta.body.size === PNG.length && meta.body.status.upload_status === "done", `stored attachment ${JSON.stringify(meta.body)}`);
      const bytes = await page.evaluate(async (u) => Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer())), meta.body.downloadUrl);
      check(Buffer.from(bytes).equals(PNG), "the download is the uploaded file");
      result.size = meta.body.size;
      result.uploaded = PNG.length;
      // The table shows it; the editor's download link is the signed URL.
      await table.getByText("📎 receipt.png").waitFor();
      await table.getByTestId("edit-row").first().click();
      await editor.getByTestId("attachment-preview").waitFor();
      const link = await editor.getByTestId("attachment-download").getAttribute("href");
      check(link.includes(`/attachment/blob/${ref.key}?`), `download link ${link}`);
      await shot(page, "dataset-attachments");
      // Remove it and save: the reference is gone from the stored row.
      await editor.getByTestId("attachment-remove").click();
      await editor.getByTestId("row-attachments").getByText("None.").waitFor();
      await editor.getByTestId("save-row").click();
      await editor.waitFor({ state: "detached" });
      const [after] = await btqlRows(page, `select: metadata | from: dataset('${ds()}') | filter: id = 'c01'`);
      check(after.metadata.screenshot === undefined && after.metadata.category !== undefined, `after removal ${JSON.stringify(after.metadata)}`);
      // An ExternalAttachment reference (a file in the user's own store) is listed with its URL.
      const external = { type: "external_attachment", url: "s3://bucket/specs/spec.pdf", filename: "spec.pdf", content_type: "application/pdf" };
      const wrote = await api(page, "POST", `v1/dataset/${ds()}/insert`, { events: [{ id: "c02", _is_merge: true, input: { spec: external } }] });
      check(wrote.status === 200, `external reference written: ${JSON.stringify(wrote.body)}`);
      await open(page, `datasets/${ds()}`, "filter=" + encodeURIComponent("id = 'c02'"));
      await table.getByText("📎 spec.pdf").waitFor();
      await table.getByTestId("edit-row").first().click();
      const shown = await editor.getByTestId("attachment").filter({ hasText: "spec.pdf" }).getByTestId("attachment-external").textContent();
      check(shown === external.url, `external attachment shown: ${shown}`);
    },

    async schemaform(page) {
      await signIn(page);
      // A dataset of its own: input must be {question: string}, enforced; metadata.level a
      // number, not enforced.
      const created = await api(page, "POST", "v1/dataset", { project_id: cfg.data.project_id, name: "schema-form" });
      const id = created.body.id;
      const inputSchema = {
        $schema: "https://json-schema.org/draft/2020-12/schema",
        type: "object",
        properties: { question: { type: "string", minLength: 3 } },
        required: ["question"],
      };
      check((await api(page, "PUT", `v1/dataset/${id}/schema/input`, { schema: inputSchema, enforce: true })).status === 200, "input schema saved");
      const metaSchema = { type: "object", properties: { level: { type: "number" } } };
      check((await api(page, "PUT", `v1/dataset/${id}/schema/metadata`, { schema: metaSchema, enforce: false })).status === 200, "metadata schema saved");
      await open(page, `datasets/${id}`);
      await page.getByTestId("add-row").click();
      const editor = page.getByTestId("row-editor");
      await editor.getByTestId("schema-badge-input").getByText("enforced").waitFor();
      const save = editor.getByTestId("save-row");
      // Typing: each violation under the field, with its path; Save disabled while enforced.
      await editor.getByTestId("edit-input").fill('{"question": 42, "lang": "en"}');
      const inputProblems = editor.getByTestId("field-violations-input").getByTestId("field-violation");
      await inputProblems.first().waitFor();
      const texts = await inputProblems.allTextContents();
      check(texts.some((t) => t.startsWith("/question") && t.includes("string")), `violations ${texts}`);
      check(await save.isDisabled(), "Save is disabled while input breaks its enforced schema");
      await shot(page, "dataset-schema-form");
      await editor.getByTestId("edit-input").fill("{}");
      await editor.getByTestId("field-violations-input").getByText('"question" is a required property').waitFor();
      await editor.getByTestId("edit-input").fill('{"question": "ok?"}');
      await editor.getByTestId("field-violations-input").waitFor({ state: "detached" });
      check(!(await save.isDisabled()), "Save is enabled once input conforms");
      // A non-enforced schema warns but lets you save.
      await editor.getByTestId("edit-metadata").fill('{"level": "high"}');
      await editor.getByTestId("field-violations-metadata").getByTestId("field-violation").first().waitFor();
      check(!(await save.isDisabled()), "a non-enforced schema does not block Save");
      result.violations = texts.length;
      await save.click();
      await editor.waitFor({ state: "detached" });
      let rows = await btqlRows(page, `select: input, metadata | from: dataset('${id}')`);
      check(rows.length === 1 && rows[0].input.question === "ok?" && rows[0].metadata.level === "high", `stored ${JSON.stringify(rows)}`);
      // The server is the authority: a schema enforced after the editor opened still refuses.
      await page.getByTestId("add-row").click();
      await editor.getByTestId("schema-badge-input").waitFor(); // the schemas as they were
      await editor.getByTestId("edit-input").fill('{"question": "fine?"}');
      await editor.getByTestId("edit-expected").fill("plain text");
      check((await api(page, "PUT", `v1/dataset/${id}/schema/expected`, { schema: { type: "number" }, enforce: true })).status === 200, "expected schema saved");
      await save.click();
      await editor.getByTestId("row-error").getByTestId("violations").waitFor();
      check((await editor.getByTestId("row-error").textContent()).includes("expected"), "the server's violation names the field");
      rows = await btqlRows(page, `select: id | from: dataset('${id}')`);
      check(rows.length === 1, `the refused row is not stored: ${rows.length}`);
    },

    async datasetstars(page) {
      await signIn(page);
      // A key of its own (the admin key's stars belong to other flows).
      const made = await api(page, "POST", "v1/api_key", { name: "stars-e2e", role: "write" });
      const key = made.body.key;
      const adminBefore = (await api(page, "GET", `v1/dataset_star?project_id=${cfg.data.project_id}`)).body.objects;
      // Stars kept in this browser before stars moved to the server are sent once.
      await page.evaluate((ids) => {
        localStorage.clear(); // signed out: the next sign-in is with the new key
        localStorage.setItem("tracelake.starred-datasets", JSON.stringify(ids));
      }, [ds(), "no-such-dataset"]);
      await signIn(page, key);
      await open(page, "datasets");
      const row = page.getByTestId("datasets-table").getByTestId("dataset-row").filter({ hasText: "catalog-questions" });
      await row.getByTestId("dataset-star").filter({ hasText: "★" }).waitFor();
      const mine = async () => (await api(page, "GET", `v1/dataset_star?project_id=${cfg.data.project_id}`, undefined, key)).body.objects.map((s) => s.dataset_id);
      check(JSON.stringify(await mine()) === JSON.stringify([ds()]), `migrated stars ${await mine()}`);
      // Sent once for this organization; the unknown id stays for other organizations.
      const left = await page.evaluate(() => localStorage.getItem("tracelake.starred-datasets"));
      check(left === '["no-such-dataset"]', `local stars left: ${left}`);
      result.migrated = true;
      const first = await page.getByTestId("dataset-row").first().textContent();
      check(first.includes("catalog-questions"), `the starred dataset comes first: ${first}`);
      // Unstar, then star another: stored for this key.
      await row.getByTestId("dataset-star").click();
      await row.getByTestId("dataset-star").filter({ hasText: "☆" }).waitFor();
      check((await mine()).length === 0, "unstarred on the server");
      const other = page.getByTestId("datasets-table").getByTestId("dataset-row").filter({ hasText: "support-questions" });
      await other.getByTestId("dataset-star").click();
      await other.getByTestId("dataset-star").filter({ hasText: "★" }).waitFor();
      check(JSON.stringify(await mine()) === JSON.stringify([cfg.data.dataset_id]), `stored star ${await mine()}`);
      // A reload (the local stars are not sent again) shows the server's stars.
      await page.reload();
      await other.getByTestId("dataset-star").filter({ hasText: "★" }).waitFor();
      await page.getByTestId("only-starred").check();
      await page.waitForFunction(() => document.querySelectorAll("[data-testid=dataset-row]").length === 1);
      // "Starred only" is in the URL: a reload keeps it; unchecked, it leaves the URL.
      check(/[?&]starred=1/.test(page.url()), `starred only in the URL: ${page.url()}`);
      await page.reload();
      await other.getByTestId("dataset-star").filter({ hasText: "★" }).waitFor();
      check(await page.getByTestId("only-starred").isChecked(), "starred only is kept on reload");
      await page.waitForFunction(() => document.querySelectorAll("[data-testid=dataset-row]").length === 1);
      await page.getByTestId("only-starred").uncheck();
      await page.waitForFunction(() => document.querySelectorAll("[data-testid=dataset-row]").length > 1);
      check(!/starred=/.test(page.url()), `unchecked, starred only leaves the URL: ${page.url()}`);
      // The admin key's stars did not change.
      const adminAfter = (await api(page, "GET", `v1/dataset_star?project_id=${cfg.data.project_id}`)).body.objects;
      check(JSON.stringify(adminAfter) === JSON.stringify(adminBefore), `another key's stars are its own: ${JSON.stringify(adminAfter)}`);
    },

    // Needs the /v1/view route of branch "views": run after merging it (the test skips itself
    // on a server without the route).
    async sandboxsaved(page) {
      const pid = cfg.data.project_id;
      // Each dialog takes the next answer: a text (accepted), or false (dismissed).
      const answers = [];
      const confirms = [];
      page.on("dialog", (d) => {
        if (d.type() === "confirm") confirms.push(d.message());
        const answer = answers.shift();
        return answer === false ? d.dismiss() : d.accept(answer ?? "");
      });
      await signIn(page);
      const views = async () =>
        (await api(page, "GET", `v1/view?object_type=project&object_id=${pid}&view_type=sandbox`)).body.objects.map((v) => [v.name, v.view_data.query]).sort();
      const before = await views();
      // A query saved in this browser before is sent to the server once.
      const legacy = `select: id | from: project_logs('${pid}') | limit: 3`;
      await page.evaluate(([key, value]) => localStorage.setItem(key, value), [`tracelake.saved-queries.${pid}`, JSON.stringify([{ name: "legacy-q", query: legacy }])]);
      await open(page, "sandbox");
      const list = page.getByTestId("saved-queries");
      await list.getByTestId("saved-where").getByText("on the server").waitFor();
      await list.getByTestId("saved-query").filter({ hasText: "legacy-q" }).waitFor();
      check(JSON.stringify(await views()) === JSON.stringify([...before, ["legacy-q", legacy]].sort()), `migrated: ${JSON.stringify(await views())}`);
      check((await page.evaluate((k) => localStorage.getItem(k), `tracelake.saved-queries.${pid}`)) === null, "the local queries are dropped once sent");
      // Save a new one.
      const query = `select: id, metadata.env | from: project_logs('${pid}') | filter: metadata.env = 'staging' | limit: 5`;
      const content = page.getByTestId("sandbox-editor").locator(".cm-content");
      await content.click();
      await page.keyboard.press("Control+A");
      await page.keyboard.press("Delete");
      await page.keyboard.insertText(query);
      answers.push("staging-rows");
      await page.getByTestId("save-query").click();
      await list.getByTestId("saved-query").filter({ hasText: "staging-rows" }).waitFor();
      check((await views()).some(([n, q]) => n === "staging-rows" && q === query), `saved: ${JSON.stringify(await views())}`);
      // Rename it.
      answers.push("staging-five");
      await list.getByTestId("saved-query").filter({ hasText: "staging-rows" }).getByTestId("saved-rename").click();
      await list.getByTestId("saved-query").filter({ hasText: "staging-five" }).waitFor();
      const names = (await views()).map(([n]) => n);
      check(names.includes("staging-five") && !names.includes("staging-rows"), `renamed: ${names}`);
      await shot(page, "sandbox-saved");
      // Open the migrated one and run it.
      await list.getByTestId("saved-query").filter({ hasText: "legacy-q" }).getByTestId("saved-open").click();
      await page.waitForFunction((q) => document.querySelector("[data-testid=sandbox-editor] .cm-content").textContent === q, legacy);
      await page.getByTestId("run-query").click();
      await page.getByTestId("result-count").getByText("3 rows").waitFor();
      // Delete the renamed one, after a confirmation (it is shared with the organization):
      // dismissed, nothing is deleted; after a reload the list is the server's.
      const staging = list.getByTestId("saved-query").filter({ hasText: "staging-five" });
      answers.push(false);
      const asked = confirms.length;
      await staging.getByTestId("saved-delete").click(); // (it returns once its dialog is answered)
      check(confirms.length === asked + 1 && confirms[asked].includes("staging-five"), `delete asks first: ${JSON.stringify(confirms)}`);
      check(await staging.isVisible(), "a dismissed delete keeps the query");
      check((await views()).some(([n]) => n === "staging-five"), "a dismissed delete keeps it on the server");
      await staging.getByTestId("saved-delete").click();
      await list.getByTestId("saved-query").filter({ hasText: "staging-five" }).waitFor({ state: "detached" });
      check(!(await views()).some(([n]) => n === "staging-five"), "deleted on the server");
      await page.reload();
      await list.getByTestId("saved-query").filter({ hasText: "legacy-q" }).waitFor();
      result.saved = (await views()).map(([n]) => n);
    },
  };
}
