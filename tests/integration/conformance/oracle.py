"""What each seed query should answer, computed in plain Python over the generated rows.

One function per seed query, written by hand from the query's meaning (filter, projection,
group-by, sort, limit); nothing here calls the engine. Semantics follow the BTQL reference page
and the decisions of /work/shared/reference/btql.md §4 and §9; where those leave a gap, the
decision tracelake documents (docs/btql.md) is used and named here:

* NULLs sort last in both directions; aggregates skip NULLs (``avg``/``sum`` of nothing is
  NULL); ``count(expr)`` counts non-NULL values; ``/`` is never integer division.
* ``x > y`` with a NULL side is NULL: a filter drops the row, a select shows null, and a
  ternary takes its else branch. ``NULL NOT IN [...]`` is NULL too.
* ``day()``/``hour()`` return the bucket start as ``"2024-11-09T00:00:00Z"`` (UTC, no tz_offset).
* ``percentile(x, p)`` is the continuous (linearly interpolated) quantile [btql.md: GAP].
* ``MATCH``: whole tokens (runs of letters and digits), case-insensitive, every token of the
  query present in any order; JSON object keys are not text [btql.md §4.5: phrase vs all-terms
  is a GAP; tracelake decided all-terms].
* ``ILIKE`` matches strings only (a JSON object input never matches) [btql.md §4.6].
* ``round(x, 2)`` rounds half away from zero (the data never sits on a half).
* summary rows: scores averaged over the spans that have them, token metrics summed, calls and
  errors counted over llm/tool spans, ``duration`` = last end - first start (wall clock,
  btql.md §9.3; the seed page still says "maximum duration of any span"), previews from the root.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from tests.integration.conformance.dataset import DataSet

Row = dict


@dataclass
class Expect:
    """The expected answer of one query.

    ``rows``: the rows, in order when ``key`` is set (then only the sequence of sort keys and
    membership in ``pool`` are checked, so ties may come in any order). ``pool``: every row the
    query could return before its limit. ``subset``: the query has a limit and no sort, so any
    ``len(rows)`` rows of ``pool`` are right. ``partial``: compare only the keys the expected
    rows have (``select: *`` returns engine columns such as ``_xact_id`` too); nested dicts
    named in ``partial`` are cut to the expected keys as well. ``sample``: a random subset of
    ``pool`` (neither empty nor all of it), in ``key`` order, descending. ``allow_empty``: an
    empty answer is right (otherwise an empty oracle answer means the data set misses the case).
    """

    rows: list[Row]
    key: Callable[[Row], object] | None = None
    pool: list[Row] | None = None
    subset: bool = False
    partial: tuple[str, ...] | None = None
    sample: bool = False
    allow_empty: bool = False


class Error:
    """The query must fail with 400 and a message containing one of ``messages``."""

    def __init__(self, *messages: str):
        self.messages = messages


# -- helpers --------------------------------------------------------------------------------------


def get(row: dict | None, *path):
    """``row.a.b[0]``: None for anything missing (a missing key, an index out of range, a path
    into a value of another type)."""
    value = row
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return None
            value = value[step]
        else:
            if not isinstance(value, dict):
                return None
            value = value.get(step)
    return value


def bucket(moment: dt.datetime, unit: str) -> str:
    if unit == "day":
        return moment.strftime("%Y-%m-%dT00:00:00Z")
    assert unit == "hour"
    return moment.strftime("%Y-%m-%dT%H:00:00Z")


def values(items: Iterable) -> list:
    return [v for v in items if v is not None]


def avg(items: Iterable) -> float | None:
    present = values(items)
    return sum(present) / len(present) if present else None


def total(items: Iterable):
    present = values(items)
    return sum(present) if present else None


def percentile(items: Iterable, p: float) -> float | None:
    ordered = sorted(values(items))
    if not ordered:
        return None
    position = p * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def div(a, b):
    return None if a is None or b is None or b == 0 else a / b


def gt(a, b) -> bool | None:
    return None if a is None else a > b


def round_half_up(x: float | None, places: int) -> float | None:
    if x is None:
        return None
    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def group(rows: Iterable[Row], key: Callable[[Row], tuple]) -> dict[tuple, list[Row]]:
    groups: dict[tuple, list[Row]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return groups


def sort_rows(rows: Iterable[Row], *keys: tuple[Callable[[Row], object], bool]) -> list[Row]:
    """Stable multi-key sort; each key is (function, descending); NULLs last either way."""
    out = list(rows)
    for fn, descending in reversed(keys):
        present = [r for r in out if fn(r) is not None]
        missing = [r for r in out if fn(r) is None]
        present.sort(key=fn, reverse=descending)
        out = present + missing
    return out


def col(name: str) -> Callable[[Row], object]:
    """A sort key: one output column."""
    return lambda row: row.get(name)


def by(*names: str) -> Callable[[Row], tuple]:
    """The sort-key tuple of a row, compared between the engine's rows and the oracle's."""
    return lambda row: tuple(row.get(n) for n in names)


TOKEN = re.compile(r"[^\W_]+")


def words(value) -> list[str]:
    """The words of a value for MATCH: strings, numbers and booleans, never object keys."""
    if value is None:
        return []
    if isinstance(value, str):
        return TOKEN.findall(value.lower())
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, int | float):
        return TOKEN.findall(str(value))
    if isinstance(value, list):
        return [w for item in value for w in words(item)]
    return [w for item in value.values() for w in words(item)]


def match(value, query: str) -> bool:
    wanted = TOKEN.findall(query.lower())
    present = set(words(value))
    return bool(wanted) and all(w in present for w in wanted)


def ilike_contains(value, needle: str) -> bool:
    return isinstance(value, str) and needle.lower() in value.lower()


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    month = moment.month - months
    year = moment.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for day in range(moment.day, 27, -1):  # clip to the month's last day
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


def star(span: Row) -> Row:
    """A span as ``select: *`` shows it (the fields the generator controls)."""
    return {k: v for k, v in span.items() if not k.startswith("_")}


def ago(d: DataSet, **delta) -> dt.datetime:
    return d.now - dt.timedelta(**delta)


def factuality(s: Row):
    return get(s, "scores", "Factuality")


def created_desc(rows: Iterable[Row]) -> list[Row]:
    return sort_rows(rows, (lambda s: s["created"], True))


STAR = ("*",)

# -- ids the queries need --------------------------------------------------------------------------


def trace_with_child_error(d: DataSet) -> str:
    """A trace of 3+ spans whose only errors are on child spans (for the traces example)."""
    for root in (s for s in d.spans if s["is_root"]):
        spans = d.trace(root["root_span_id"])
        if len(spans) >= 3 and root["error"] is None and any(s["error"] for s in spans):
            return root["root_span_id"]
    raise AssertionError("the data set has no trace with an error on a child span only")


def trace_without_error(d: DataSet) -> str:
    for root in (s for s in d.spans if s["is_root"]):
        spans = d.trace(root["root_span_id"])
        if len(spans) >= 3 and not any(s["error"] for s in spans):
            return root["root_span_id"]
    raise AssertionError("the data set has no error-free trace of 3+ spans")


# -- page 004 (BTQL reference) --------------------------------------------------------------------


def s004_01(d: DataSet) -> Expect:
    return Expect([star(s) for s in d.spans if "triage" in (s["tags"] or [])], partial=STAR)


def s004_02(d: DataSet) -> Expect:
    pool = created_desc(star(s) for s in d.spans if gt(factuality(s), 0.8))
    return Expect(pool, key=by("created"), pool=pool, sample=True, partial=STAR)


def s004_03(d: DataSet) -> Expect:
    return Expect(
        [
            {
                "model": get(s, "metadata", "model"),
                "score": factuality(s),
                "timestamp": s["created"],
            }
            for s in d.spans
        ]
    )


def s004_04(d: DataSet) -> Expect:
    return Expect(
        [
            {
                "model": get(s, "metadata", "model"),
                "is_long_response": gt(get(s, "metrics", "tokens"), 1000),
                "quality": "high" if gt(factuality(s), 0.8) else "low",
            }
            for s in d.spans
        ]
    )


def s004_05(d: DataSet) -> Expect:
    return Expect(
        [
            {
                "date": bucket(s["_created"], "day"),
                "hour": bucket(s["_created"], "hour"),
                "rounded_score": round_half_up(factuality(s), 2),
            }
            for s in d.spans
        ]
    )


def s004_07(d: DataSet) -> Expect:
    pool = [
        star(s)
        for s in d.spans
        if get(s, "span_attributes", "type") == "llm"
        and gt(get(s, "metrics", "time_to_first_token"), 0.1)
    ]
    return Expect(pool[:10], pool=pool, subset=True, partial=STAR)


def s004_08(d: DataSet, root_span_id: str) -> Expect:
    spans = d.trace(root_span_id)
    matched = any(s["error"] is not None for s in spans)
    return Expect([star(s) for s in spans] if matched else [], partial=STAR, allow_empty=True)


SUMMARY_METRICS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "llm_calls",
    "tool_calls",
    "errors",
    "llm_errors",
    "tool_errors",
    "start",
    "end",
    "duration",
    "llm_duration",
    "time_to_first_token",
)


def summary_row(d: DataSet, root_span_id: str) -> Row:
    spans = d.trace(root_span_id)
    (root,) = [s for s in spans if s["is_root"]]
    kind = {s["id"]: get(s, "span_attributes", "type") for s in spans}
    llm = [s for s in spans if kind[s["id"]] == "llm"]
    tool = [s for s in spans if kind[s["id"]] == "tool"]
    score_names = sorted({name for s in spans for name in (s["scores"] or {})})
    scores = {n: avg(get(s, "scores", n) for s in spans) for n in score_names} or None
    start = min(get(s, "metrics", "start") for s in spans)
    end = max(get(s, "metrics", "end") for s in spans)
    metrics = {
        "prompt_tokens": total(get(s, "metrics", "prompt_tokens") for s in spans),
        "completion_tokens": total(get(s, "metrics", "completion_tokens") for s in spans),
        "total_tokens": total(get(s, "metrics", "total_tokens") for s in spans),
        "llm_calls": len(llm),
        "tool_calls": len(tool),
        "errors": sum(s["error"] is not None for s in llm + tool),
        "llm_errors": sum(s["error"] is not None for s in llm),
        "tool_errors": sum(s["error"] is not None for s in tool),
        "start": start,
        "end": end,
        "duration": end - start,
        "llm_duration": total(get(s, "metrics", "end") - get(s, "metrics", "start") for s in llm),
        "time_to_first_token": avg(get(s, "metrics", "time_to_first_token") for s in llm),
    }
    return {
        "id": root["id"],
        "span_id": root["span_id"],
        "root_span_id": root_span_id,
        "created": root["created"],
        "is_root": True,
        **{name: root[name] for name in ("input", "output", "expected", "error", "metadata")},
        "tags": root["tags"],
        "scores": scores,
        "metrics": metrics,
        "span_type_info": {"has_error": any(s["error"] is not None for s in spans)},
    }


def s004_09(d: DataSet) -> Expect:
    pool = [summary_row(d, s["root_span_id"]) for s in d.spans if s["is_root"]]
    return Expect(pool[:10], pool=pool, subset=True, partial=("*", "metrics", "span_type_info"))


def s004_10(d: DataSet) -> Expect:
    cutoff = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rows = [
        star(s)
        for s in d.spans
        if gt(factuality(s), 0.8)
        and get(s, "metadata", "model") == "gpt-4"
        and "triage" in (s["tags"] or [])
        and ilike_contains(s["input"], "question")
        and s["_created"] > cutoff
        and (gt(get(s, "metrics", "tokens"), 1000) or get(s, "metadata", "is_production") is True)
    ]
    return Expect(rows, partial=STAR)


def s004_11(d: DataSet) -> Expect:
    return Expect([star(s) for s in d.spans if s["_created"] > ago(d, days=1)], partial=STAR)


def s004_12(d: DataSet) -> Expect:
    rows = [star(s) for s in d.spans if ago(d, hours=1) < s["_created"] < d.now]
    return Expect(rows, partial=STAR)


def s004_13(d: DataSet) -> Expect:
    rows = [
        star(s)
        for s in d.spans
        if s["_created"] > ago(d, days=7) and s["_created"] > months_before(d.now, 1)
    ]
    return Expect(rows, partial=STAR)


def s004_14(d: DataSet) -> Expect:
    return Expect(created_desc(star(s) for s in d.spans), key=by("created"), partial=STAR)


def s004_15(d: DataSet) -> Expect:
    rows = sort_rows(
        (star(s) for s in d.spans), (factuality, True), (lambda s: s["created"], False)
    )
    return Expect(rows, key=lambda r: (factuality(r), r["created"]), partial=STAR)


def tag_count(row: Row):
    return None if row["tags"] is None else len(row["tags"])


def s004_16(d: DataSet) -> Expect:
    rows = sort_rows((star(s) for s in d.spans), (tag_count, True))
    return Expect(rows, key=tag_count, partial=STAR)


def spread(rows: list[Row], columns: list[str]) -> list[Row]:
    """Every pivoted row gets every pivot column; a combination without spans is NULL."""
    return [{**dict.fromkeys(columns), **row} for row in rows]


def s004_17(d: DataSet) -> Expect:
    """Pivot (B16) with its pivot column named: ``pivot: metadata.model``. The page's own
    query lists the measures instead (btql.md §5.2 calls it internally inconsistent), but its
    result shows one row per date with ``<model>_<measure>`` columns: this is that result."""
    rows, columns = [], []
    for (date,), spans in group(d.spans, lambda s: (bucket(s["_created"], "day"),)).items():
        row = {"date": date}
        for (model,), cell in group(spans, lambda s: (get(s, "metadata", "model"),)).items():
            row[f"{model}_avg_factuality"] = avg(factuality(s) for s in cell)
            row[f"{model}_avg_tokens"] = avg(get(s, "metrics", "tokens") for s in cell)
            row[f"{model}_call_count"] = len(cell)
        rows.append(row)
        columns += [c for c in row if c not in columns and c != "date"]
    return Expect(spread(rows, columns))


def s004_19(d: DataSet) -> Expect:
    """Pivot (B18) with ``pivot: metadata.model``: one row per primary tag (NULL for spans
    without tags) with ``<model>_tag_count`` columns, the shape the page shows."""
    rows, columns = [], []
    for (tag,), spans in group(d.spans, lambda s: (get(s, "tags", 0),)).items():
        row = {"primary_tag": tag}
        for (model,), cell in group(spans, lambda s: (get(s, "metadata", "model"),)).items():
            row[f"{model}_tag_count"] = len(cell)
        rows.append(row)
        columns += [c for c in row if c not in columns and c != "primary_tag"]
    return Expect(spread(rows, columns))


def s004_21(d: DataSet) -> Expect:
    pool = [star(s) for s in d.spans]
    return Expect(pool[:100], pool=pool, subset=True, partial=STAR)


def s004_22(d: DataSet) -> Expect:
    """Cursor paging: the pages together hold every span once."""
    return Expect([star(s) for s in d.spans], partial=STAR)


def s004_23(d: DataSet) -> Expect:
    return Expect(created_desc(star(s) for s in d.spans)[:100], key=by("created"), partial=STAR)


def s004_24(d: DataSet, last_created: str) -> Expect:
    rows = created_desc(star(s) for s in d.spans if s["created"] < last_created)
    return Expect(rows[:100], key=by("created"), partial=STAR)


def s004_25(d: DataSet) -> Expect:
    return Expect(
        [
            {
                "model": get(s, "metadata", "model"),
                "field_space": get(s, "metadata", "field name"),
                "field_hyphen": get(s, "metadata", "field-name"),
                "field_dot": get(s, "metadata", "field.name"),
                "first_tag": get(s, "tags", 0),
                "last_tag": get(s, "tags", -1),
                "first_model_name": get(s, "metadata", "models", 0, "name"),
            }
            for s in d.spans
        ]
    )


def s004_28(d: DataSet) -> Expect:
    return Expect(
        [
            {
                "quality": "high" if gt(factuality(s), 0.8) else "low",
                "valid_tokens": -1 if s["error"] is not None else get(s, "metrics", "tokens"),
            }
            for s in d.spans
        ]
    )


def rating(score) -> str:
    if gt(score, 0.9):
        return "excellent"
    if gt(score, 0.7):
        return "good"
    if gt(score, 0.5):
        return "fair"
    return "poor"


def s004_29(d: DataSet) -> Expect:
    return Expect([{"rating": rating(factuality(s))} for s in d.spans])


def s004_30(d: DataSet) -> Expect:
    rows = []
    for s in d.spans:
        tokens = get(s, "metrics", "tokens")
        gpt4 = get(s, "metadata", "model") == "gpt-4"
        rows.append(
            {
                "adjusted_tokens": (None if tokens is None else tokens * 2) if gpt4 else tokens,
                "valid_latency": get(s, "metrics", "latency") if s["error"] is None else 0,
            }
        )
    return Expect(rows)


def s004_31(d: DataSet) -> Expect:
    cutoff = dt.datetime.strptime(d.iso_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    spans = [s for s in d.spans if s["_created"] > cutoff]
    rows = [
        {
            "time": day,
            "total_tokens": total(get(s, "metrics", "total_tokens") for s in cell),
            "input_tokens": total(get(s, "metrics", "prompt_tokens") for s in cell),
            "output_tokens": total(get(s, "metrics", "completion_tokens") for s in cell),
        }
        for (day,), cell in group(spans, lambda s: (bucket(s["_created"], "day"),)).items()
    ]
    return Expect(sort_rows(rows, (col("time"), False)), key=by("time"))


def s004_32(d: DataSet) -> Expect:
    cutoff = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    spans = [s for s in d.spans if s["_created"] > cutoff]
    key = lambda s: (get(s, "metadata", "model"), bucket(s["_created"], "day"))  # noqa: E731
    rows = [
        {
            "model": model,
            "date": date,
            "avg_factuality": avg(factuality(s) for s in cell),
            "p05_factuality": percentile((factuality(s) for s in cell), 0.05),
            "p95_factuality": percentile((factuality(s) for s in cell), 0.95),
            "total_calls": len(cell),
        }
        for (model, date), cell in group(spans, key).items()
    ]
    rows = sort_rows(rows, (col("date"), True), (col("model"), False))
    return Expect(rows, key=by("date", "model"))


def s004_33(d: DataSet) -> Expect:
    pool = sort_rows(
        (
            star(s)
            for s in d.spans
            if factuality(s) is not None
            and factuality(s) < 0.5
            and get(s, "metadata", "is_production") is True
            and s["_created"] > ago(d, days=1)
        ),
        (factuality, False),
    )
    return Expect(pool[:100], key=factuality, pool=pool, partial=STAR)


def s004_34(d: DataSet) -> Expect:
    models = ["gpt-4", "gpt-4-turbo", "claude-3-opus"]
    pool = sort_rows(
        (
            star(s)
            for s in d.spans
            if get(s, "metadata", "model") in models
            and factuality(s) is not None
            and s["_created"] > ago(d, days=7)
        ),
        (factuality, True),
    )
    return Expect(pool[:500], key=factuality, pool=pool, partial=STAR)


def s004_35(d: DataSet) -> Expect:
    spans = [s for s in d.spans if s["_created"] > ago(d, days=1)]
    key = lambda s: (get(s, "metadata", "model"), bucket(s["_created"], "hour"))  # noqa: E731
    rows = []
    for (model, hour), cell in group(spans, key).items():
        errors = sum(s["error"] is not None for s in cell)
        rows.append(
            {
                "model": model,
                "hour": hour,
                "total": len(cell),
                "errors": errors,
                "error_rate": errors / len(cell),
            }
        )
    return Expect(sort_rows(rows, (col("error_rate"), True)), key=by("error_rate"))


def s004_36(d: DataSet) -> Expect:
    spans = [s for s in d.spans if s["error"] is not None and s["_created"] > ago(d, days=7)]
    key = lambda s: (get(s, "error", "type"), get(s, "metadata", "model"))  # noqa: E731
    rows = [
        {
            "error_type": error_type,
            "model": model,
            "error_count": len(cell),
            "avg_latency": avg(get(s, "metrics", "latency") for s in cell),
        }
        for (error_type, model), cell in group(spans, key).items()
    ]
    return Expect(sort_rows(rows, (col("error_count"), True)), key=by("error_count"))


def s004_37(d: DataSet) -> Expect:
    known = ["rate_limit", "timeout", "network_error"]
    pool = created_desc(
        star(s)
        for s in d.spans
        if s["error"] is not None
        and get(s, "error", "type") is not None  # NULL NOT IN [...] is NULL
        and get(s, "error", "type") not in known
        and get(s, "metadata", "is_production") is True
        and s["_created"] > ago(d, days=1)
    )
    return Expect(pool[:100], key=by("created"), pool=pool, partial=STAR)


def s004_38(d: DataSet) -> Expect:
    spans = [s for s in d.spans if s["_created"] > ago(d, days=1)]
    key = lambda s: (get(s, "metadata", "endpoint"), bucket(s["_created"], "hour"))  # noqa: E731
    rows = [
        {
            "endpoint": endpoint,
            "hour": hour,
            "p95_latency": percentile((get(s, "metrics", "latency") for s in cell), 0.95),
            "median_latency": percentile((get(s, "metrics", "latency") for s in cell), 0.5),
            "requests": len(cell),
        }
        for (endpoint, hour), cell in group(spans, key).items()
    ]
    rows = sort_rows(rows, (col("hour"), True), (col("p95_latency"), True))
    return Expect(rows, key=by("hour", "p95_latency"))


def s004_39(d: DataSet) -> Expect:
    pool = sort_rows(
        (
            {
                "endpoint": get(s, "metadata", "endpoint"),
                "latency": get(s, "metrics", "latency"),
                "tokens": get(s, "metrics", "tokens"),
                "input": s["input"],
                "created": s["created"],
            }
            for s in d.spans
            if gt(get(s, "metrics", "latency"), 5000) and s["_created"] > ago(d, hours=1)
        ),
        (col("latency"), True),
    )
    return Expect(pool[:20], key=by("latency"), pool=pool)


def s004_40(d: DataSet) -> Expect:
    spans = [s for s in d.spans if s["_created"] > ago(d, days=7)]
    key = lambda s: (get(s, "metadata", "prompt_template"), bucket(s["_created"], "day"))  # noqa: E731
    rows = []
    for (template, date), cell in group(spans, key).items():
        prompt = avg(get(s, "metrics", "prompt_tokens") for s in cell)
        completion = avg(get(s, "metrics", "completion_tokens") for s in cell)
        rows.append(
            {
                "template": template,
                "date": date,
                "avg_prompt_tokens": prompt,
                "avg_completion_tokens": completion,
                "token_efficiency": div(completion, prompt),
                "avg_factuality": avg(factuality(s) for s in cell),
            }
        )
    rows = sort_rows(rows, (col("date"), True), (col("token_efficiency"), True))
    return Expect(rows, key=by("date", "token_efficiency"))


def s004_41(d: DataSet) -> Expect:
    pool = created_desc(
        star(s)
        for s in d.spans
        if match(s["input"], "explain the concept of recursion") and gt(factuality(s), 0.8)
    )
    return Expect(pool[:10], key=by("created"), pool=pool, partial=STAR)


def s004_42(d: DataSet) -> Expect:
    spans = [
        s for s in d.spans if "feedback" in (s["tags"] or []) and s["_created"] > ago(d, days=30)
    ]
    key = lambda s: (get(s, "tags", 0), get(s, "metadata", "model"))  # noqa: E731
    rows = [
        {
            "primary_tag": tag,
            "model": model,
            "feedback_count": len(cell),
            "high_quality_rate": avg(1 if gt(factuality(s), 0.8) else 0 for s in cell),
        }
        for (tag, model), cell in group(spans, key).items()
    ]
    return Expect(sort_rows(rows, (col("feedback_count"), True)), key=by("feedback_count"))


# -- page 000 (export) ----------------------------------------------------------------------------


def s000_01(d: DataSet) -> Expect:
    return Expect([star(s) for s in d.spans if "annotated" in (s["tags"] or [])], partial=STAR)


def s000_02(d: DataSet) -> Expect:
    rows = [star(s) for s in d.spans if gt(get(s, "scores", "user_rating"), 0.8)]
    return Expect(rows, partial=STAR)  # LIMIT 1000 > every row


def s000_03(d: DataSet) -> Expect:
    return Expect(
        [
            {"input": r["input"], "expected": r["expected"], "metadata": r["metadata"]}
            for r in d.records
        ]
    )


def s000_04(d: DataSet) -> Expect:
    return Expect(
        [
            {"input": r["input"], "expected": r["expected"]}
            for r in d.records
            if r["expected"] is not None
        ]
    )


def s000_05(d: DataSet) -> Expect:
    return Expect(
        [
            {
                "input": s["input"],
                "output": s["output"],
                "expected": s["expected"],
                "user_id": get(s, "metadata", "user_id"),
            }
            for s in d.spans
            if s["expected"] is not None and get(s, "metadata", "user_correction") is True
        ]
    )


def s000_06(d: DataSet) -> Expect:
    return Expect(
        [
            {
                "created": s["created"],
                "user_rating": get(s, "scores", "user_rating"),
                "accuracy": get(s, "scores", "accuracy"),
                "model": get(s, "metadata", "model"),
            }
            for s in d.spans
            if s["_created"] > ago(d, days=7)
        ]
    )


def s000_07(d: DataSet) -> Expect:
    rows = created_desc(r for r in d.records if get(r, "metadata", "annotated") is True)
    return Expect(rows[:1000], key=by("created"), partial=STAR)
