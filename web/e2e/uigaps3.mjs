// Gaps of the web UI found against ui-features.md (driven by tests/browser/test_ui_gaps3.py), one
// flow each. Registered in e2e.mjs, which passes its helpers in.
export function uiGaps3Flows({ cfg, result, check, signIn, open, api, tableSettled }) {
  const pid = () => cfg.data.project_id;
  const stamp = () => Date.now().toString(36);
  const insert = (page, project, events) => api(page, `v1/project_logs/${project}/insert`, { method: "POST", body: { events } });
  const storedComments = async (page, row) => {
    const res = await api(page, "btql", { method: "POST", body: { query: `select: comments | from: project_logs('${pid()}') | filter: id = '${row}'` } });
    return (res.body.data[0].comments || []).map((c) => ({ text: c.comment.text, user_id: c.user_id, created: c.created }));
  };
  const signInAs = async (page, key) => {
    await page.goto(cfg.url + "/#/login");
    await page.getByTestId("api-key").fill(key);
    await page.getByTestId("sign-in").click();
    await page.waitForURL(/#\/p\/[^/]+\/logs/);
  };
  const openRow = async (page, row) => {
    await open(page, "logs", `filter=${encodeURIComponent(`id = '${row}'`)}&tab=btql`);
    await tableSettled(page);
    await page.getByTestId("logs-table").getByTestId("row").first().click();
    return page.getByTestId("span-detail").getByTestId("comments");
  };

  return {
    // A comment edited from the span detail (there was no edit: delete and write again, which
    // lost its author and time): the text is replaced in place, its author and creation time
    // kept, also when another key edits it; a blank text cannot be saved; an edit the server
    // refuses (a read-only key) shows the server's message and the stored text stays.
    async commentedit(page) {
      await signIn(page);
      const row = `ui3-comment-${stamp()}`;
      check((await insert(page, pid(), [{ id: row, span_id: row, root_span_id: row, input: "q", output: "a", span_attributes: { name: "ui3-comment", type: "task" } }])).status === 200, "row written");
      const fb = await api(page, `v1/project_logs/${pid()}/feedback`, { method: "POST", body: { feedback: [{ id: row, comment: "first words" }] } });
      check(fb.status === 200, "comment written");
      const [before] = await storedComments(page, row);
      result.before = before;

      let comments = await openRow(page, row);
      let comment = comments.getByTestId("comment").first();
      await comment.getByTestId("comment-text").filter({ hasText: "first words" }).waitFor();
      await comment.getByTestId("comment-edit").click();
      const input = comment.getByTestId("comment-edit-input");
      check((await input.inputValue()) === "first words", "the editor starts from the stored text");
      await input.fill("   ");
      result.blankDisabled = await comment.getByTestId("comment-edit-save").isDisabled();
      await input.fill("second words");
      await comment.getByTestId("comment-edit-save").click();
      await comments.getByTestId("comment-text").filter({ hasText: "second words" }).waitFor();
      check((await comments.getByTestId("comment-edit-input").count()) === 0, "the editor closes");
      result.afterEdit = await storedComments(page, row);
      result.shownAuthor = await comments.getByTestId("comment-author").first().textContent();

      // Another key (another user) edits it: the author stays the one who wrote it.
      await signInAs(page, cfg.write_key);
      comments = await openRow(page, row);
      comment = comments.getByTestId("comment").first();
      await comment.getByTestId("comment-text").filter({ hasText: "second words" }).waitFor();
      await comment.getByTestId("comment-edit").click();
      await comment.getByTestId("comment-edit-input").fill("third words");
      await comment.getByTestId("comment-edit-save").click();
      await comments.getByTestId("comment-text").filter({ hasText: "third words" }).waitFor();
      result.afterOtherKey = await storedComments(page, row);
      result.shownAuthorAfterOtherKey = await comments.getByTestId("comment-author").first().textContent();

      // A read-only key's edit is refused: the server's message, the stored text unchanged.
      await signInAs(page, cfg.read_key);
      comments = await openRow(page, row);
      comment = comments.getByTestId("comment").first();
      await comment.getByTestId("comment-text").filter({ hasText: "third words" }).waitFor();
      await comment.getByTestId("comment-edit").click();
      await comment.getByTestId("comment-edit-input").fill("refused words");
      await comment.getByTestId("comment-edit-save").click();
      result.refused = await comment.getByTestId("comment-edit-error").textContent();
      result.afterRefused = await storedComments(page, row);
      // Cancel shows the stored text again.
      await comment.getByTestId("comment-edit-cancel").click();
      result.shownAfterCancel = await comments.getByTestId("comment-text").first().textContent();
    },
  };
}
