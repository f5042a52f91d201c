import { ErrorCodes, fail, type Result } from "../core/errors.ts";
import type { BodyCheck } from "./body-check.ts";
import { decodeUtf8, parseJson } from "./json-text.ts";

/**
 * Bodies are read, decoded and parsed once, at the edge (serve.ts), before Elysia sees the
 * request: strict UTF-8, bounded size and depth. Routes take the parsed value from here, so
 * Elysia's own parser (lenient, coercing) never runs on a body.
 */
const parsedBodies = new WeakMap<Request, Result<unknown>>();

export type BodyRead = { tooLarge: true } | { tooLarge: false; body: Result<unknown> | undefined };

/**
 * Reads at most `limit` bytes; an empty body is `undefined`. Never reads past the limit. A body
 * whose Content-Length the edge already held to the limit is read whole, natively: a stream reader
 * per request cost more than the rest of an HTTP publish.
 */
export async function readJsonBody(request: Request, limit: number, declaredWithin = false): Promise<BodyRead> {
  if (request.body === null) return { tooLarge: false, body: undefined };
  const bytes = declaredWithin ? await request.bytes() : await readAtMost(request.body, limit);
  if (bytes === null) return { tooLarge: true };
  if (bytes.byteLength === 0) return { tooLarge: false, body: undefined };
  const text = decodeUtf8(bytes);
  if (text === null) return { tooLarge: false, body: fail(ErrorCodes.BAD_JSON, "request body is not valid UTF-8") };
  return { tooLarge: false, body: parseJson(text, "request body") };
}

export function attachBody(request: Request, body: Result<unknown> | undefined): void {
  if (body !== undefined) parsedBodies.set(request, body);
}

/** The parsed body, unchecked (the access hook reads names from it before the route checks it), if it parsed. */
export function parsedBody(request: Request): unknown {
  const body = parsedBodies.get(request);
  return body?.ok ? body.value : undefined;
}

/** The request's JSON body, checked against its route's model. */
export function jsonBody<T>(request: Request, check: BodyCheck<T>): Result<T> {
  return checkedBody(parsedBodies.get(request), check);
}

/** A parsed body (undefined: there was none), checked against a route's model. */
export function checkedBody<T>(body: Result<unknown> | undefined, check: BodyCheck<T>): Result<T> {
  if (body === undefined) return fail(ErrorCodes.BAD_JSON, "request body is required: a JSON object");
  return body.ok ? check(body.value) : body;
}

/** The whole body, or null as soon as it passes `limit` bytes (the rest is never read). */
async function readAtMost(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array | null> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > limit) {
      void reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const all = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return all;
}
