/**
 * The contract the fuzzer holds the broker to, read from the README's tables at run time (so a
 * code added to the README is accepted, and a code the README does not name is a failure).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ANSWER_BOUND_MS, SLOW_CASE_MS } from "./settings.ts";

const readme = readFileSync(resolve(import.meta.dir, "../../README.md"), "utf8");

const section = (title: string): string => {
  const start = readme.indexOf(`## ${title}`);
  if (start === -1) throw new Error(`README has no "## ${title}" section`);
  const end = readme.indexOf("\n## ", start + 3);
  return readme.slice(start, end === -1 ? undefined : end);
};

const CODE = /^[A-Z][A-Z0-9_]+$/;
const backticked = (line: string): string[] => [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).filter((t) => CODE.test(t));

/** code → HTTP status, from the `| status | code | when |` table of "## HTTP API". */
export const httpStatusOf: ReadonlyMap<string, number> = (() => {
  const statuses = new Map<string, number>();
  for (const line of section("HTTP API").split("\n")) {
    const row = /^\|\s*(\d{3})\s*\|([^|]*)\|/.exec(line);
    if (!row) continue;
    for (const code of backticked(row[2]!)) if (!statuses.has(code)) statuses.set(code, Number(row[1]));
  }
  if (statuses.size < 10) throw new Error("could not read the README's status table");
  return statuses;
})();

/**
 * Codes an ERROR frame may carry: those of the ERROR row and every `ERROR X` of the WebSocket
 * section, and the HTTP table's (a WebSocket publish or declare fails as its HTTP twin does).
 */
export const wsCodes: ReadonlySet<string> = (() => {
  const ws = section("WebSocket protocol");
  const codes = new Set(httpStatusOf.keys());
  for (const line of ws.split("\n")) if (line.includes('"type":"ERROR"')) for (const code of backticked(line)) codes.add(code);
  for (const m of ws.matchAll(/ERROR`? `?([A-Z][A-Z0-9_]+)/g)) codes.add(m[1]!);
  codes.delete("ERROR");
  return codes;
})();

/** A case that took longer than a stall may: not a failure by itself, but the likely cause of one. */
export const slow = (request: string, ms: number): void => console.log(`fuzz slow case: ${Math.round(ms)} ms: ${describe(request)}`);

export type HttpAnswer = { status: number; code: string | undefined; body: any; ms: number; text: string };

/** What a request was, for failure messages (truncated: bodies can be megabytes). */
export const describe = (what: unknown): string => {
  const text = typeof what === "string" ? what : JSON.stringify(what, (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v));
  return text === undefined ? String(what) : text.length > 300 ? `${text.slice(0, 300)}… (${text.length} chars)` : text;
};

export class ContractViolation extends Error {}

const violation = (request: string, why: string, answer?: { status: number; text: string; ms: number }): never => {
  throw new ContractViolation(
    `${why}\n  request: ${request}` + (answer ? `\n  answer: ${answer.status} in ${Math.round(answer.ms)} ms: ${describe(answer.text)}` : ""),
  );
};

/**
 * Checks one HTTP answer against the contract: within ANSWER_BOUND_MS, never 5xx, and a refusal is
 * `{"error":{"code","message"}}` with a documented code whose documented status is the one sent.
 */
export function checkHttpAnswer(request: string, status: number, contentType: string | null, text: string, ms: number): HttpAnswer {
  const answer = { status, text, ms };
  if (ms > SLOW_CASE_MS) slow(request, ms);
  if (ms > ANSWER_BOUND_MS) violation(request, `answered after ${Math.round(ms)} ms (bound ${ANSWER_BOUND_MS} ms)`, answer);
  if (status >= 500) violation(request, `server error ${status}`, answer);
  let body: any = null;
  // Success answers are JSON but for the Swagger UI's pages and assets.
  const json = status >= 400 || (contentType ?? "").includes("json");
  if (text !== "" && json) {
    try {
      body = JSON.parse(text);
    } catch {
      violation(request, "answer body is not JSON", answer);
    }
  }
  if (status < 400) return { status, code: undefined, body, ms, text };
  if (!(contentType ?? "").includes("application/json")) violation(request, `refusal with content-type ${contentType}`, answer);
  const error = body?.error;
  const shaped =
    body !== null && typeof body === "object" && Object.keys(body).join() === "error" && error !== null && typeof error === "object" &&
    Object.keys(error).sort().join() === "code,message" && typeof error.code === "string" && typeof error.message === "string";
  if (!shaped) violation(request, 'refusal is not {"error":{"code","message"}}', answer);
  const code: string = error.code;
  if (code === "INTERNAL") violation(request, "INTERNAL error code", answer);
  const documented = httpStatusOf.get(code);
  if (documented === undefined) violation(request, `error code ${code} is not in the README's status table`, answer);
  if (documented !== status) violation(request, `${code} answered with ${status}; the README says ${documented}`, answer);
  return { status, code, body, ms, text };
}

/** Sends one request with fetch and checks the answer. */
export async function httpCall(base: string, method: string, path: string, body?: string | Uint8Array, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const request = `${method} ${path}${body === undefined ? "" : ` ${describe(typeof body === "string" ? body : `<${body.length} bytes>`)}`}`;
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: typeof body === "string" || body === undefined ? body : new Uint8Array(body),
      signal: AbortSignal.timeout(ANSWER_BOUND_MS + 500),
    });
  } catch (error) {
    return violation(request, `no answer: ${error instanceof Error ? error.message : String(error)} after ${Math.round(performance.now() - started)} ms`);
  }
  const text = await response.text();
  return checkHttpAnswer(request, response.status, response.headers.get("content-type"), text, performance.now() - started);
}

/** An ERROR frame as the README writes it, with a documented code other than INTERNAL. */
export function checkErrorFrame(request: string, frame: any): string {
  const payload = frame?.payload;
  const shaped =
    payload !== null && typeof payload === "object" && typeof payload.code === "string" && typeof payload.message === "string" &&
    Object.keys(payload).every((k) => k === "code" || k === "message" || k === "id" || k === "queue_name");
  if (!shaped) violation(request, `ERROR frame is not {"type":"ERROR","payload":{"code","message","id"?}}: ${describe(frame)}`);
  if (payload.code === "INTERNAL") violation(request, `INTERNAL error frame: ${describe(frame)}`);
  if (!wsCodes.has(payload.code)) violation(request, `error code ${payload.code} is not documented for WebSocket: ${describe(frame)}`);
  return payload.code;
}

/** Fails the case with the request that broke the contract. */
export const fail = (request: string, why: string): never => violation(request, why);
