// The SQL filter of a dataset's Runs tab, evaluated in the browser over the loaded runs (each an
// experiment: name, created, scores.<name> as its average, metadata.*, …). A small SQL-style
// condition language: comparisons (= != <> < <= > >=), LIKE / ILIKE, IS [NOT] NULL, AND, OR,
// NOT and parentheses; strings in single quotes, numbers, TRUE/FALSE/NULL.

export type Run = Record<string, any>;
type Expr =
  | { k: "lit"; v: any }
  | { k: "field"; path: string[] }
  | { k: "not"; e: Expr }
  | { k: "bool"; op: "AND" | "OR"; a: Expr; b: Expr }
  | { k: "cmp"; op: string; a: Expr; b: Expr }
  | { k: "like"; a: Expr; b: Expr; ci: boolean; neg: boolean }
  | { k: "null"; a: Expr; neg: boolean };

type Tok = { t: "id" | "str" | "num" | "op" | "(" | ")" | "end"; v: string; at: number };

export class FilterError extends Error {}

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) i++;
    else if (c === "'") {
      let v = "";
      let j = i + 1;
      for (;;) {
        if (j >= src.length) throw new FilterError(`unterminated string at ${i + 1}`);
        if (src[j] === "'" && src[j + 1] === "'") (v += "'"), (j += 2);
        else if (src[j] === "'") break;
        else v += src[j++];
      }
      out.push({ t: "str", v, at: i });
      i = j + 1;
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      const m = /^[0-9]*\.?[0-9]+(e[-+]?[0-9]+)?/i.exec(src.slice(i))!;
      out.push({ t: "num", v: m[0], at: i });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*/.exec(src.slice(i))!;
      out.push({ t: "id", v: m[0], at: i });
      i += m[0].length;
    } else if (c === "(" || c === ")") out.push({ t: c, v: c, at: i++ });
    else {
      const m = /^(<=|>=|<>|!=|=|<|>)/.exec(src.slice(i));
      if (!m) throw new FilterError(`unexpected '${c}' at ${i + 1}`);
      out.push({ t: "op", v: m[0], at: i });
      i += m[0].length;
    }
  }
  out.push({ t: "end", v: "", at: src.length });
  return out;
}

export function parseFilter(src: string): Expr {
  const toks = tokenize(src);
  let p = 0;
  const peek = () => toks[p];
  const kw = (w: string) => peek().t === "id" && peek().v.toUpperCase() === w;
  const fail = (what: string): never => {
    const t = peek();
    throw new FilterError(`expected ${what} at ${t.at + 1}${t.t === "end" ? " (end of the filter)" : ` near '${t.v}'`}`);
  };
  const or = (): Expr => {
    let a = and();
    while (kw("OR")) (p++, (a = { k: "bool", op: "OR", a, b: and() }));
    return a;
  };
  const and = (): Expr => {
    let a = not();
    while (kw("AND")) (p++, (a = { k: "bool", op: "AND", a, b: not() }));
    return a;
  };
  const not = (): Expr => {
    if (kw("NOT")) {
      p++;
      return { k: "not", e: not() };
    }
    return pred();
  };
  const pred = (): Expr => {
    const a = atom();
    if (peek().t === "op") {
      const op = toks[p++].v;
      return { k: "cmp", op: op === "<>" ? "!=" : op, a, b: atom() };
    }
    if (kw("IS")) {
      p++;
      const neg = kw("NOT");
      if (neg) p++;
      if (!kw("NULL")) fail("NULL");
      p++;
      return { k: "null", a, neg };
    }
    let neg = false;
    if (kw("NOT")) (p++, (neg = true));
    if (kw("LIKE") || kw("ILIKE")) {
      const ci = kw("ILIKE");
      p++;
      return { k: "like", a, b: atom(), ci, neg };
    }
    if (neg) fail("LIKE or ILIKE");
    return a;
  };
  const atom = (): Expr => {
    const t = peek();
    if (t.t === "(") {
      p++;
      const e = or();
      if (peek().t !== ")") fail("')'");
      p++;
      return e;
    }
    if (t.t === "str") return p++, { k: "lit", v: t.v };
    if (t.t === "num") return p++, { k: "lit", v: Number(t.v) };
    if (t.t === "id") {
      const u = t.v.toUpperCase();
      if (u === "TRUE" || u === "FALSE") return p++, { k: "lit", v: u === "TRUE" };
      if (u === "NULL") return p++, { k: "lit", v: null };
      if (["AND", "OR", "NOT", "IS", "LIKE", "ILIKE"].includes(u)) fail("a field or a value");
      p++;
      return { k: "field", path: t.v.split(".") };
    }
    return fail("a field or a value");
  };
  if (peek().t === "end") throw new FilterError("the filter is empty");
  const e = or();
  if (peek().t !== "end") fail("AND, OR or the end");
  return e;
}

function value(e: Expr, run: Run): any {
  switch (e.k) {
    case "lit":
      return e.v;
    case "field": {
      let v: any = run;
      for (const part of e.path) v = v === null || v === undefined ? undefined : v[part];
      return v === undefined ? null : v;
    }
    default:
      return test(e, run);
  }
}

function likeRegex(pattern: string, ci: boolean): RegExp {
  const body = pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/%/g, ".*").replace(/_/g, ".");
  return new RegExp(`^${body}$`, ci ? "is" : "s");
}

// Three-valued, as in SQL and BTQL: a comparison with a missing (NULL) side is unknown (null), NOT
// unknown is unknown, FALSE AND unknown is false, TRUE OR unknown is true; only true keeps a run.
function test(e: Expr, run: Run): boolean | null {
  switch (e.k) {
    case "bool": {
      const a = test(e.a, run);
      const b = test(e.b, run);
      if (e.op === "AND") return a === false || b === false ? false : a === null || b === null ? null : true;
      return a === true || b === true ? true : a === null || b === null ? null : false;
    }
    case "not": {
      const v = test(e.e, run);
      return v === null ? null : !v;
    }
    case "null":
      return (value(e.a, run) === null) !== e.neg;
    case "like": {
      const a = value(e.a, run);
      const b = value(e.b, run);
      if (a === null || b === null) return null;
      return likeRegex(String(b), e.ci).test(String(a)) !== e.neg;
    }
    case "cmp": {
      let a = value(e.a, run);
      let b = value(e.b, run);
      if (a === null || b === null) return null;
      if (typeof a === "number" || typeof b === "number") (a = Number(a)), (b = Number(b));
      else if (typeof a !== "string" || typeof b !== "string") (a = JSON.stringify(a)), (b = JSON.stringify(b));
      switch (e.op) {
        case "=":
          return a === b;
        case "!=":
          return a !== b;
        case "<":
          return a < b;
        case "<=":
          return a <= b;
        case ">":
          return a > b;
        default:
          return a >= b;
      }
    }
    default: {
      const v = value(e, run);
      return v === null ? null : !!v;
    }
  }
}

/** The runs a filter keeps; throws FilterError on a broken filter. */
export function filterRuns(runs: Run[], src: string): Run[] {
  if (!src.trim()) return runs;
  const e = parseFilter(src);
  return runs.filter((r) => test(e, r) === true);
}
