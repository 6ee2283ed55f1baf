"""The compare screen with a baseline and several experiments (web/e2e/comparemany.mjs), in
headless Chromium: what it shows is checked against values computed here."""

from __future__ import annotations

from tests.browser.conftest import run_flow

# Per experiment (created in this order: "base" is the oldest), its rows: (input, acc, seconds).
EXPERIMENTS = {
    "base": [("q0", 0.5, 1.0), ("q1", 0.5, 1.0), ("q2", 1.0, 1.0), ("q3", 0.2, 1.0)],
    "v2": [("q0", 0.8, 1.5), ("q1", 0.5, 1.5), ("q2", 0.5, 1.5), ("q3", 0.2, 1.5)],
    # q4: a row only this experiment has (no baseline row: no delta).
    "v3": [
        ("q0", 0.3, 0.5),
        ("q1", 1.0, 0.5),
        ("q2", 1.0, 0.5),
        ("q3", 0.6, 0.5),
        ("q4", 0.6, 0.5),
    ],
}


def _pct(v: float) -> str:
    return f"{v * 100:.1f}%"


def _cell(exp: str, q: str) -> str:
    """The text of a score cell as the table shows it: the score, then its change (if any)."""
    scores = {i: s for i, s, _ in EXPERIMENTS[exp]}
    base = {i: s for i, s, _ in EXPERIMENTS["base"]}
    if q not in scores:
        return ""
    text = _pct(scores[q])
    if q in base and abs(scores[q] - base[q]) > 1e-9:
        d = scores[q] - base[q]
        text += f" ▲ +{d * 100:.1f}" if d > 0 else f" ▼ {d * 100:.1f}"
    return text


def _changes(exp: str) -> tuple[int, int]:
    base = {i: s for i, s, _ in EXPERIMENTS["base"]}
    ds = [s - base[i] for i, s, _ in EXPERIMENTS[exp] if i in base and abs(s - base[i]) > 1e-9]
    return sum(d > 0 for d in ds), sum(d < 0 for d in ds)


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def test_a_baseline_compared_with_two_experiments(ui_server, tmp_path):
    """Three experiments picked in the list: the oldest is the baseline, the other two are
    compared with it (`exp=a,b` in the URL); one group of summary cards and one group of table
    columns per experiment, each delta against the baseline; the filters of a card keep the
    rows of its experiment, a link's filter without `in` the rows of any; sort by regressions
    over both; the diff shows both experiments beside the baseline; one removed and added back;
    a two-experiment link as before."""
    server, data = ui_server
    experiments = {
        name: [
            {"input": q, "output": f"{name} says {q}", "scores": {"acc": s}, "duration": d}
            for q, s, d in rows
        ]
        for name, rows in EXPERIMENTS.items()
    }
    result = run_flow(
        "comparemany", server, data, tmp_path, experiments=experiments, diffInput="q0"
    )
    ids = result["ids"]
    assert result["button"] == "Compare v2, v3 with base"
    assert result["badge"].startswith("base")
    assert result["url"]["exp"] == f"{ids['v2']},{ids['v3']}"
    assert result["url"]["base"] == ids["base"]

    base_acc = _mean(s for _, s, _ in EXPERIMENTS["base"])
    base_dur = _mean(d for _, _, d in EXPERIMENTS["base"])
    groups = result["summary"]
    assert [g["exp"] for g in groups] == [ids["v2"], ids["v3"]]
    for g, name in zip(groups, ["v2", "v3"], strict=True):
        acc = _mean(s for _, s, _ in EXPERIMENTS[name])
        dur = _mean(d for _, _, d in EXPERIMENTS[name])
        up, down = _changes(name)
        assert g["name"] == f"{name}vs base"
        assert g["scores"]["acc"] == {
            "avg": _pct(acc),
            "diff": f"{(acc - base_acc) * 100:+.1f} pts",
            "improvements": f"{up} improvements",
            "regressions": f"{down} regressions",
        }
        assert g["metrics"]["duration"] == f"{(dur - base_dur) / base_dur * 100:+.1f}%"

    # Rows in the order the first experiment lists them, then those only the second has.
    table = result["table"]
    shown = table["input"]
    assert sorted(shown[:4]) == ["q0", "q1", "q2", "q3"] and shown[4] == "q4"

    def column(col: str) -> dict[str, str]:
        return {q: text.strip() for q, text in zip(shown, table[col], strict=True)}

    assert column("d:acc") == {q: _cell("v2", q) for q in shown}
    assert column("x1.d:acc") == {q: _cell("v3", q) for q in shown}
    assert column("output") == {q: f"v2 says {q}" if q != "q4" else "" for q in shown}
    assert column("x1.output") == {q: f"v3 says {q}" for q in shown}
    assert column("base_output") == {q: f"base says {q}" if q != "q4" else "" for q in shown}
    # Change: a regression when a score dropped in any experiment, else an improvement.
    assert column("regressions") == {
        "q0": "regression",
        "q1": "improvement",
        "q2": "regression",
        "q3": "improvement",
        "q4": "",
    }
    headers = dict(result["headers"])
    assert headers["d:acc"] == "acc Δ (v2)" and headers["x1.d:acc"] == "acc Δ (v3)"
    assert headers["output"] == "Output (v2)" and headers["base_output"] == "Output (base)"

    assert result["filterUrl"]["in"] == ids["v2"]
    assert result["onlyText"].startswith("Showing rows regressed on acc in v2")
    assert result["regressedInV2"] == ["q2"]
    assert sorted(result["improvedInV3"]) == ["q1", "q3"]
    assert sorted(result["regressedInAny"]) == ["q0", "q2"]
    assert "in any compared experiment" in result["anyText"]

    # Sorted on the sum of the drops (both experiments'), else of the gains.
    assert result["sorted"]["input"] == ["q2", "q0", "q4", "q3", "q1"]
    assert result["sorted"]["change"][:2] == ["regression", "regression"]

    diff = result["diff"]
    assert diff["exps"] == ["v2", "v3"] and diff["base"] == "base"
    assert [td["changed"] for td in diff["scores"]] == [True, True, False]
    assert "0.8" in diff["scores"][0]["text"] and "0.3" in diff["scores"][1]["text"]
    assert "0.5" in diff["scores"][2]["text"]

    assert result["afterRemove"] == {"groups": 1, "rows": 4}
    assert result["afterAdd"] == {"groups": 2, "rows": 5}

    two = result["two"]
    assert two["exp"] == ids["v3"] and two["base"] == ids["base"]
    assert len(two["summary"]) == 1 and two["summary"][0]["name"] is None
    assert two["summary"][0]["scores"]["acc"]["avg"] == _pct(0.7)
