// Links in the Braintrust app's form, as the SDK prints them (`Experiment … is running at
// <app url>/app/<org>/p/<project>/experiments/<name>`, `braintrust.permalink(...)`) and the
// summarize routes return them: each opens its screen — an experiment, a dataset, a logged
// span or an experiment row in its trace, a dataset row in its editor — signed in or after
// signing in; a link naming nothing, or another organization, says so.
// Registered in e2e.mjs, which passes its helpers in.

export function linksFlows({ cfg, result, check, signIn, api }) {
  const pid = () => cfg.data.project_id;

  /** Open a link; the route (hash) the UI lands on once it has left #/open. */
  async function follow(page, link) {
    await page.goto(link);
    await page.waitForFunction(() => location.hash && !location.hash.startsWith("#/open"), null, { timeout: 10000 }).catch(async () => {
      const shown = await page.getByTestId("link-error").textContent().catch(() => "(nothing)");
      check(false, `${link} stayed at ${page.url()}: ${shown}`);
    });
    return new URL(page.url()).hash;
  }

  async function firstRow(page, source) {
    const res = await api(page, "btql", { method: "POST", body: { query: `select: id, root_span_id | from: ${source} | limit: 1` } });
    check(res.status === 200 && res.body.data.length === 1, `a row of ${source}: ${JSON.stringify(res.body)}`);
    return res.body.data[0];
  }

  async function linkError(page, link) {
    await page.goto(link);
    const error = page.getByTestId("link-error");
    await error.waitFor();
    return error.textContent();
  }

  return {
    async links(page) {
      await signIn(page);
      const login = await api(page, "api/apikey/login", { method: "POST", body: {} });
      const org = login.body.org_info[0].name;
      const app = `${cfg.url}/app/${encodeURIComponent(org)}`;
      const projectName = encodeURIComponent(cfg.data.project_name);
      const landed = {};

      // The experiment and dataset links the summarize routes answer (the SDK's form).
      const exp = await api(page, `v1/experiment/${cfg.data.candidate_experiment}/summarize`);
      check(exp.body.experiment_url.startsWith(`${app}/p/`), exp.body.experiment_url);
      landed.experiment = await follow(page, exp.body.experiment_url);
      check(landed.experiment === `#/p/${pid()}/experiments/${cfg.data.candidate_experiment}`, landed.experiment);
      await page.getByTestId("experiment-details").waitFor();

      const ds = await api(page, `v1/dataset/${cfg.data.dataset_id}/summarize`);
      landed.dataset = await follow(page, ds.body.dataset_url);
      check(landed.dataset === `#/p/${pid()}/datasets/${cfg.data.dataset_id}`, landed.dataset);
      await page.getByTestId("add-row").waitFor();

      landed.project = await follow(page, ds.body.project_url);
      check(landed.project === `#/p/${pid()}/logs`, landed.project);

      // A logged span: braintrust.permalink's form, and the span's "logs?oid=" form.
      const span = await firstRow(page, `project_logs('${pid()}')`);
      const spanRoute = `#/p/${pid()}/logs?trace=${encodeURIComponent(span.root_span_id)}&span=${encodeURIComponent(span.id)}`;
      const permalink = `${app}/object?${new URLSearchParams({ object_type: "project_logs", object_id: pid(), id: span.id })}`;
      landed.span = await follow(page, permalink);
      check(landed.span === spanRoute, `${landed.span} != ${spanRoute}`);
      await page.getByTestId("span-detail").filter({ hasText: `id ${span.id}` }).waitFor();
      landed.oid = await follow(page, `${app}/p/${projectName}/logs?oid=${encodeURIComponent(span.id)}`);
      check(landed.oid === spanRoute, landed.oid);

      // An experiment row, and a dataset row.
      const row = await firstRow(page, `experiment('${cfg.data.base_experiment}')`);
      landed.experimentRow = await follow(page, `${app}/object?${new URLSearchParams({ object_type: "experiment", object_id: cfg.data.base_experiment, id: row.id })}`);
      check(landed.experimentRow.startsWith(`#/p/${pid()}/experiments/${cfg.data.base_experiment}?`), landed.experimentRow);
      await page.getByTestId("span-detail").filter({ hasText: `id ${row.id}` }).waitFor();
      const dsRow = await firstRow(page, `dataset('${cfg.data.dataset_id}')`);
      landed.datasetRow = await follow(page, `${app}/object?${new URLSearchParams({ object_type: "dataset", object_id: cfg.data.dataset_id, id: dsRow.id })}`);
      check(landed.datasetRow === `#/p/${pid()}/datasets/${cfg.data.dataset_id}?row=${encodeURIComponent(dsRow.id)}`, landed.datasetRow);
      await page.getByTestId("row-editor").waitFor();

      // The back button does not return to the link (which would open it again).
      await page.goBack();
      check(!new URL(page.url()).hash.startsWith("#/open"), `back went to ${page.url()}`);

      // Links that name nothing here, or another organization.
      result.missingExperiment = await linkError(page, `${app}/p/${projectName}/experiments/no-such-run`);
      check(result.missingExperiment.includes("no experiment 'no-such-run'"), result.missingExperiment);
      result.missingRow = await linkError(page, `${app}/object?object_type=project_logs&object_id=${pid()}&id=no-such-row`);
      check(result.missingRow.includes("no row 'no-such-row'"), result.missingRow);
      result.otherOrg = await linkError(page, `${cfg.url}/app/someone-else/p/${projectName}`);
      check(result.otherOrg.includes("organization 'someone-else'"), result.otherOrg);

      // Not signed in: the sign-in page, then the link's screen.
      const fresh = await page.context().browser().newContext();
      try {
        const other = await fresh.newPage();
        await other.goto(exp.body.experiment_url);
        await other.getByTestId("api-key").fill(cfg.key);
        await other.getByTestId("sign-in").click();
        await other.waitForURL(new RegExp(`#/p/${pid()}/experiments/${cfg.data.candidate_experiment}$`));
        await other.getByTestId("experiment-details").waitFor();
        landed.afterSignIn = new URL(other.url()).hash;
      } finally {
        await fresh.close();
      }
      result.landed = landed;
      // A link to a trace or span that is not there (deleted, mistyped) says so; the panel
      // showed "Loading span…" for ever.
      await page.goto(`${cfg.url}/#/p/${pid()}/logs?trace=no-such-trace&span=no-such-span`);
      await page.getByTestId("trace-missing").waitFor();
      await page.getByTestId("span-missing").waitFor();
      const root = (await api(page, "btql", { method: "POST", body: { query: `select: root_span_id | from: project_logs('${pid()}') | filter: id = 'trace-0003'` } })).body.data[0].root_span_id;
      await page.goto(`${cfg.url}/#/p/${pid()}/logs?trace=${root}&span=no-such-span`);
      await page.getByTestId("span-tree").getByTestId("span-row").first().waitFor();
      await page.getByTestId("span-missing").waitFor();
      check((await page.getByTestId("trace-missing").count()) === 0, "the trace itself is there");
      // Its root span then opens as usual.
      await page.getByTestId("span-tree").getByTestId("span-row").first().click();
      await page.getByTestId("span-detail").waitFor();
      result.missingSpan = await page.getByTestId("span-missing").count();

      // The UI's own URL of an experiment or a dataset that is not there (deleted since the
      // link was copied): the screen says so. Both threw an uncaught error and drew an empty
      // screen (the dataset's, with its buttons).
      await page.goto(`${cfg.url}/#/p/${pid()}/experiments/no-such-experiment`);
      result.deletedExperiment = await page.getByTestId("experiment-missing").textContent();
      await page.goto(`${cfg.url}/#/p/${pid()}/datasets/no-such-dataset`);
      result.deletedDataset = await page.getByTestId("dataset-missing").textContent();
      result.deletedDatasetButtons = await page.getByTestId("add-row").count();
    },
  };
}
