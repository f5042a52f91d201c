import { Kind, type TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { ValueErrorType, type ValueError } from "@sinclair/typebox/errors";
import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";

/**
 * Request bodies are checked against the same TypeBox models the OpenAPI document shows, strictly:
 * no coercion ("5" is not 5, "true" is not true), no unknown fields (a typo like `max_lenght`
 * used to be dropped silently, leaving a queue with no limit) [STRICT-1]. Elysia's own body
 * validation coerces numbers and strips unknown fields, so it is not used for bodies.
 */
export type BodyCheck<T> = (value: unknown) => Result<T>;

export function bodyCheck<T>(schema: TSchema, options: { seedCaseInsensitive?: boolean } = {}): BodyCheck<T> {
  const compiled = TypeCompiler.Compile(schema);
  const fields = Object.keys((schema as { properties?: object }).properties ?? {});
  const byLowerCase = new Map(fields.map((f) => [f.toLowerCase(), f]));
  return (value) => {
    const body = options.seedCaseInsensitive ? canonicalFieldNames(value, fields, byLowerCase) : value;
    if (compiled.Check(body)) return ok(body as T);
    return fail(ErrorCodes.VALIDATION, explain(compiled, body, fields));
  };
}

/**
 * The seed's Go server matched JSON field names case-insensitively (`"Name"`, `"Payload"`), as Go's
 * encoding/json does: an exact match wins, otherwise a field whose name differs only in case.
 */
/** The body as a seed route's check reads it: field names matched case-insensitively to `schema`'s (the access checks read names the same way). */
export function seedFieldNames(schema: TSchema, value: unknown): unknown {
  const fields = Object.keys((schema as { properties?: object }).properties ?? {});
  return canonicalFieldNames(value, fields, new Map(fields.map((f) => [f.toLowerCase(), f])));
}

function canonicalFieldNames(value: unknown, fields: string[], byLowerCase: Map<string, string>): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const body = value as Record<string, unknown>;
  let renamed: Record<string, unknown> | undefined;
  for (const key of Object.keys(body)) {
    if (fields.includes(key)) continue;
    const canonical = byLowerCase.get(key.toLowerCase());
    if (canonical === undefined || canonical in body) continue;
    renamed ??= { ...body };
    renamed[canonical] = renamed[key];
    delete renamed[key];
  }
  return renamed ?? body;
}

/** The first problem, in words a person can act on: the field, what it must be, what it was. */
function explain(compiled: TypeCheck<TSchema>, value: unknown, fields: string[]): string {
  const first = compiled.Errors(value).First();
  if (first === undefined) return "request body does not fit the schema";
  return describeError(first, fields);
}

export function describeError(error: ValueError, fields: readonly string[] = []): string {
  const field = error.path === "" ? "request body" : error.path.slice(1).replaceAll("/", ".");
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const name = error.path.slice(1);
      const near = closest(name, fields);
      return `unknown field "${name}"${near ? ` (did you mean "${near}"?)` : ""}`;
    }
    case ValueErrorType.ObjectRequiredProperty:
      return `${field} is required`;
    default:
      return `${field} must be ${expected(error.schema)}, got ${shown(error.value)}`;
  }
}

/** What a schema accepts, in words. */
export function expected(schema: TSchema): string {
  const s = schema as TSchema & Record<string, unknown>;
  const kind = schema[Kind];
  const range = (unit: string) => {
    const min = s.minimum as number | undefined;
    const max = s.maximum as number | undefined;
    if (min !== undefined && max !== undefined) return `${unit} from ${min} to ${max}`;
    if (min !== undefined) return `${unit} of at least ${min}`;
    if (max !== undefined) return `${unit} of at most ${max}`;
    return unit;
  };
  switch (kind) {
    case "Integer":
      return range("a whole number");
    case "Number":
      return range("a number");
    case "Boolean":
      return "true or false";
    case "Null":
      return "null";
    case "String": {
      const min = s.minLength as number | undefined;
      const max = s.maxLength as number | undefined;
      return max !== undefined ? `a string of ${min ?? 0} to ${max} characters` : min ? `a non-empty string` : "a string";
    }
    case "Literal":
      return JSON.stringify(s.const);
    case "Object":
    case "Record":
      return "an object";
    case "Array":
      return "an array";
    case "Union": {
      const options = (s.anyOf as TSchema[]).map(expected);
      const literals = options.every((o) => o.startsWith('"'));
      return literals ? `one of ${options.join(", ")}` : [...new Set(options)].join(" or ");
    }
    default:
      return "a valid value";
  }
}

const shown = (value: unknown): string => {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
};

/** A known field within two edits of a misspelt one, for the error message. */
function closest(name: string, fields: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const field of fields) {
    const d = editDistance(name.toLowerCase(), field.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [field, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
