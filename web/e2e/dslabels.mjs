// Browser flow of labelling dataset rows with the project's review scores, on a project of its
// own (tests/browser/test_ui_dslabels.py seeds it): a row flagged for review is opened from the
// queue; a categorical score with "write to expected" sets the row's expected, a category without
// a destination and a slider go to metadata.<name>, a free-form text to its metadata path — each a
// merge write (a new dataset version), read back into the editor; Mark reviewed completes the
// item; Save of the editor keeps the labels. From the dataset's table: a second row labelled, a
// second categorical score writing to expected configured: expected holds both labels by name. What the server stored is
// checked at each step. Registered in e2e.mjs, which passes its helpers in.

export function dslabelsFlows({ cfg, result, check, shot, signIn, open, api }) {
  return {
    async dslabels(page) {
      const pid = cfg.data.dslabels_project_id;
      const dsId = cfg.data.dslabels_dataset_id;
      const itemId = cfg.data.dslabels_item_id;
      const stored = async (id) =>
        (await api(page, "btql", { method: "POST", body: { query: `select: * | from: dataset('${dsId}') | filter: id = '${id}'` } })).body.data[0];
      const versions = async () => (await api(page, `v1/dataset/${dsId}/versions`)).body.objects.length;
      // Equal as JSON values, whatever the order of their keys.
      const canon = (v) =>
        v && typeof v === "object" && !Array.isArray(v)
          ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]))
          : Array.isArray(v)
            ? v.map(canon)
            : v;
      const same = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));
      await signIn(page);
      const before = await stored("dl-1");
      const v0 = await versions();

      // Open the flagged row from the review queue.
      await open(page, "review", "", pid);
      const entry = page.getByTestId("review-queue").getByTestId("review-item").filter({ hasText: "dl-1" });
      await entry.getByTestId("review-open").click();
      await page.waitForURL(new RegExp(`datasets/${dsId}\\?.*row=dl-1`));
      const editor = page.getByTestId("row-editor");
      const review = editor.getByTestId("human-review");
      const score = (name) => review.locator(`[data-testid=review-score][data-name=${name}]`);
      await score("sentiment").waitFor();
      await review.getByTestId("review-dataset-note").waitFor();
      const destinations = {};
      for (const name of ["confidence", "note", "quality", "sentiment"])
        destinations[name] = (await score(name).getByTestId("review-destination").textContent()).replace("→", "").trim();
      check(
        same(destinations, { confidence: "metadata.confidence", note: "metadata.review.note", quality: "metadata.quality", sentiment: "expected" }),
        `each score says where it is written: ${JSON.stringify(destinations)}`,
      );

      // A categorical score with "write to expected": the category's name is the row's expected.
      await score("sentiment").getByTestId("review-category").filter({ hasText: "negative" }).click();
      await score("sentiment").locator("button.on", { hasText: "negative" }).waitFor();
      let row = await stored("dl-1");
      check(row.expected === "negative" && same(row.input, before.input) && same(row.metadata, before.metadata), `expected labelled ${JSON.stringify(row)}`);
      check(JSON.parse(await editor.getByTestId("edit-expected").inputValue()) === "negative", "the editor shows the stored expected");
      // A category without a destination: its name at metadata.<name> (a dataset row has no scores).
      await score("quality").getByTestId("review-category").filter({ hasText: "bad" }).click();
      await score("quality").locator("button.on", { hasText: "bad" }).waitFor();
      // A slider: its value at metadata.<name>, autosaved.
      await score("confidence").getByTestId("review-slider").fill("0.8");
      await score("confidence").locator("[data-testid=autosave][data-status=saved]").waitFor();
      // A free-form text to its metadata path, autosaved.
      await score("note").getByTestId("review-text").fill("charged twice, refund asked");
      await score("note").locator("[data-testid=autosave][data-status=saved]").waitFor();
      row = await stored("dl-1");
      const metadata = { ...before.metadata, quality: "bad", confidence: 0.8, review: { note: "charged twice, refund asked" } };
      check(row.expected === "negative" && same(row.input, before.input), `the row keeps its input and label ${JSON.stringify(row)}`);
      check(same(row.metadata, metadata), `metadata merged ${JSON.stringify(row.metadata)}`);
      const v1 = await versions();
      check(v1 === v0 + 4, `one dataset version per answer: ${v0} -> ${v1}`);
      const shown = await editor.getByTestId("edit-metadata").inputValue();
      check(same(JSON.parse(shown), row.metadata), `the editor shows the stored metadata: ${shown}`);
      await shot(page, "dataset-row-labels");

      // Mark reviewed completes the review item.
      await editor.getByTestId("mark-reviewed").click();
      await editor.getByTestId("review-state").filter({ hasText: "reviewed ✓" }).waitFor();
      const item = (await api(page, `v1/review_item/${itemId}`)).body;
      check(item.status === "completed", `the item is completed ${JSON.stringify(item)}`);
      // Save of the editor writes its fields: the labels read back into them stay.
      await editor.getByTestId("save-row").click();
      await editor.waitFor({ state: "detached" });
      const saved = await stored("dl-1");
      check(saved.expected === "negative" && same(saved.metadata, row.metadata), `saved row keeps the labels ${JSON.stringify(saved)}`);

      // From the dataset's table: label another row; configure a second category written to
      // expected: expected then holds {score name: category name}, as Braintrust stores them.
      await open(page, `datasets/${dsId}`, "", pid);
      const table = page.getByTestId("dataset-rows");
      await table.getByTestId("row").filter({ hasText: "Love the new app" }).click();
      await page.waitForURL(/row=dl-2/);
      await score("sentiment").waitFor();
      await score("sentiment").getByTestId("review-category").filter({ hasText: "positive" }).click();
      await score("sentiment").locator("button.on", { hasText: "positive" }).waitFor();
      check((await stored("dl-2")).expected === "positive", "one label to expected is a plain string");
      await review.getByTestId("configure-scores").click();
      await page.getByTestId("config-name").fill("topic");
      await page.getByTestId("config-type").selectOption("categorical");
      await page.getByTestId("config-categories").fill("billing=1, praise=0");
      await page.getByTestId("config-destination").fill("expected");
      await page.getByTestId("config-save").click();
      await score("topic").waitFor();
      await review.getByTestId("configure-scores").click();
      const configs = (await api(page, `v1/project_score?project_id=${pid}`)).body.objects;
      const topic = configs.find((c) => c.name === "topic");
      check(topic && topic.score_type === "categorical" && same(topic.config, { destination: "expected" }), `topic configured ${JSON.stringify(topic)}`);
      await score("topic").getByTestId("review-destination").filter({ hasText: "expected.topic" }).waitFor();
      await score("sentiment").getByTestId("review-destination").filter({ hasText: "expected.sentiment" }).waitFor();
      await score("sentiment").getByTestId("review-category").filter({ hasText: "positive" }).click();
      await score("sentiment").locator("button.on", { hasText: "positive" }).waitFor();
      await score("topic").getByTestId("review-category").filter({ hasText: "praise" }).click();
      await score("topic").locator("button.on", { hasText: "praise" }).waitFor();
      await score("sentiment").locator("button.on", { hasText: "positive" }).waitFor();
      const second = await stored("dl-2");
      check(same(second.expected, { sentiment: "positive", topic: "praise" }) && same(second.metadata, { src: "app" }), `second row labelled ${JSON.stringify(second)}`);
      // Closed, the table shows the stored labels.
      await editor.getByRole("button", { name: "Cancel" }).click();
      await table.getByTestId("row").filter({ hasText: "Love the new app" }).filter({ hasText: "praise" }).waitFor();
      result.versions = (await versions()) - v0;

      // On a span, a categorical score writing to expected labels the span's expected too (a
      // key of it: two such scores are configured now), not its scores.
      await open(page, "logs", "trace=dl-trace&span=dl-span", pid);
      const spanReview = page.getByTestId("human-review");
      const spanScore = spanReview.locator("[data-testid=review-score][data-name=sentiment]");
      await spanScore.getByTestId("review-category").filter({ hasText: "negative" }).click();
      await spanScore.locator("button.on", { hasText: "negative" }).waitFor();
      const span = (
        await api(page, "btql", { method: "POST", body: { query: `select: expected, scores | from: project_logs('${pid}') | filter: id = 'dl-span'` } })
      ).body.data[0];
      check(same(span.expected, { sentiment: "negative" }) && !(span.scores && "sentiment" in span.scores), `the span's label ${JSON.stringify(span)}`);
      result.span_expected = span.expected;
    },
  };
}
