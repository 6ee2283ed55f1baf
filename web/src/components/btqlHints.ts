// "Did you mean …?" for the server's unknown-name errors (as Phoenix's query editor offers):
// `unknown field 'inptu'` → `… (did you mean 'input'?)`, `unknown function 'lenght'` → 'len'…
import { FUNCTIONS, TOP_FIELDS } from "./BtqlEditor";

/** Edit distance with adjacent transpositions (optimal string alignment). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/** The known name closest to ``name`` (at most two edits, and fewer than half its letters). */
export function closest(name: string, known: readonly string[]): string | null {
  const lower = name.toLowerCase();
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const dist = distance(lower, k.toLowerCase());
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return best !== null && bestD > 0 && bestD <= 2 && bestD * 2 < name.length ? best : null;
}

/** The server's message with a suggestion for an unknown field or function. */
export function withHint(message: string): string {
  const m = /unknown (field|function) '([^']+)'/.exec(message);
  if (!m) return message;
  const hint = closest(m[2], m[1] === "field" ? TOP_FIELDS : FUNCTIONS);
  return hint ? `${message} (did you mean '${hint}'?)` : message;
}
