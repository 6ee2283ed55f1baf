// Field schemas checked in the browser as you type: the same JSON Schemas the server enforces
// (draft 2020-12, as the server's jsonschema Draft202012Validator), compiled with ajv. The
// server stays the authority: a write it refuses still shows its violations.
import type { ValidateFunction } from "ajv/dist/2020";
import { request } from "../api";

export const SCHEMA_FIELDS = ["input", "expected", "metadata"] as const;
export type FieldViolation = { path: string; message: string };
export type FieldSchema = { validate: ValidateFunction; enforce: boolean };

// ajv is loaded with the first row editor, in its own chunk (the other screens do not need it).
// "format" is left to the server, which checks it (docs/datasets.md): a value breaking one
// shows the server's violation when the row is saved.
let ajv: Promise<import("ajv/dist/2020").default> | null = null;
function compiler() {
  ajv ??= import("ajv/dist/2020").then(({ default: Ajv2020 }) => new Ajv2020({ allErrors: true, strict: false, validateFormats: false }));
  return ajv;
}

/** The dataset's field schemas, compiled (a schema ajv cannot compile is left to the server). */
export async function loadFieldSchemas(datasetId: string): Promise<Record<string, FieldSchema>> {
  const [stored, compile] = await Promise.all([request(`v1/dataset/${datasetId}/schema`), compiler()]);
  const result: Record<string, FieldSchema> = {};
  for (const f of SCHEMA_FIELDS) {
    const entry = stored[f];
    if (!entry) continue;
    try {
      const schema = { ...entry.schema };
      delete schema.$schema; // the 2020-12 dialect is ajv's own here
      result[f] = { validate: compile.compile(schema), enforce: !!entry.enforce };
    } catch {
      /* the server checks it */
    }
  }
  return result;
}

/** The text of a field as the value saved: empty is null, JSON is parsed, else a string. */
export function parseFieldText(text: string): unknown {
  const t = text.trim();
  if (t === "") return null;
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}

/** How a value breaks a schema, each with its JSON Pointer path ("/" for the whole value). */
export function fieldViolations(schema: FieldSchema | undefined, value: unknown): FieldViolation[] {
  if (!schema) return [];
  if (schema.validate(value)) return [];
  return (schema.validate.errors || []).map((e) => {
    let message = e.message || "is invalid";
    // Values in JSON spelling, as the server's messages write them.
    if (e.keyword === "required") message = `${JSON.stringify((e.params as any).missingProperty)} is a required property`;
    if (e.keyword === "additionalProperties") message = `${JSON.stringify((e.params as any).additionalProperty)} is not allowed`;
    return { path: e.instancePath || "/", message };
  });
}
