// Gaps of the web UI found against ui-features.md (driven by tests/browser/test_ui_gaps.py):
// names typed with surrounding spaces are stored trimmed (the server refuses them with a 400).
// Registered in e2e.mjs, which passes its helpers in.

export function uiGapsFlows({ cfg, result, check, signIn, open, api, tableSettled }) {
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
      stored.automation = autos.find((a) => a.name.includes(`export ${s}`))?.name;
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
      stored.view = views.find((v) => v.name.includes(`view ${s}`))?.name;

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
    },
  };
}
