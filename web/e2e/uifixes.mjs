// Browser flows of the UI's frame: dialogs close on Escape and give the focus back.
// Registered in e2e.mjs, which passes its helpers in.

export function uiFixesFlows({ cfg, result, check, signIn, open, tableSettled }) {
  /** The data-testid of the element that has the focus. */
  const focused = (page) => page.evaluate(() => document.activeElement?.getAttribute("data-testid") ?? document.activeElement?.tagName);

  return {
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
  };
}
