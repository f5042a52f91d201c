/** One raw HTTP/1.1 request over TCP (for what fetch normalises or refuses to send), checked against the contract. */
import { rawRequest, type RawResponse } from "../support/raw-http.ts";
import { checkHttpAnswer, describe, fail, type HttpAnswer } from "./contract.ts";
import { concatBytes, utf8 } from "./hostile.ts";
import { ANSWER_BOUND_MS } from "./settings.ts";

export type RawParts = {
  method: string;
  /** The request target as bytes on the wire, sent as given. */
  target: Uint8Array | string;
  host?: string | Uint8Array | null;
  headers?: string[];
  body?: Uint8Array | string;
  /** Send the body chunked, in chunks of this size. */
  chunked?: number;
};

export function rawBytes(parts: RawParts): Uint8Array {
  const body = typeof parts.body === "string" ? utf8(parts.body) : parts.body;
  const lines: (string | Uint8Array)[] = [`${parts.method} `, typeof parts.target === "string" ? utf8(parts.target) : parts.target, " HTTP/1.1\r\n"];
  if (parts.host !== null) lines.push("Host: ", parts.host ?? "127.0.0.1", "\r\n");
  for (const h of parts.headers ?? []) lines.push(`${h}\r\n`);
  lines.push("Connection: close\r\n");
  if (body !== undefined && parts.chunked === undefined) lines.push(`Content-Length: ${body.length}\r\n`);
  if (body !== undefined && parts.chunked !== undefined) lines.push("Transfer-Encoding: chunked\r\n");
  lines.push("\r\n");
  if (body !== undefined && parts.chunked !== undefined) {
    for (let at = 0; at < body.length; at += parts.chunked) {
      const chunk = body.subarray(at, at + parts.chunked);
      lines.push(`${chunk.length.toString(16)}\r\n`, chunk, "\r\n");
    }
    lines.push("0\r\n\r\n");
  } else if (body !== undefined) lines.push(body);
  return concatBytes(...lines.map((l) => (typeof l === "string" ? utf8(l) : l)));
}

const show = (bytes: Uint8Array): string => describe(Buffer.from(bytes).toString("latin1"));

/**
 * Bun's HTTP parser refuses what it cannot parse before the app sees it, with no body: 400, or 505
 * when the request line's third token is no HTTP version (a space or control byte in the target
 * splits it there). That is the runtime's answer to a broken request line, accepted only for
 * requests that are not valid HTTP/1.1.
 */
const PARSER_REFUSALS = new Set([400, 505]);

/**
 * Sends the request and checks the answer. `wellFormed`: the request is valid HTTP/1.1, so the
 * answer must be the app's (JSON refusals); otherwise the parser may refuse it bare (above), but
 * the answer still comes within the bound, and anything the app answers keeps the contract.
 */
export async function rawCall(port: number, parts: RawParts, wellFormed: boolean): Promise<HttpAnswer> {
  const bytes = rawBytes(parts);
  const request = `raw ${show(bytes)}`;
  const started = performance.now();
  let response: RawResponse;
  try {
    response = await rawRequest(port, bytes, ANSWER_BOUND_MS + 500);
  } catch (error) {
    if (!wellFormed) return { status: 0, code: undefined, body: null, ms: performance.now() - started, text: "" };
    return fail(request, `no answer: ${error instanceof Error ? error.message : String(error)} after ${Math.round(performance.now() - started)} ms`);
  }
  const ms = performance.now() - started;
  while (response.status === 100) {
    // Expect: 100-continue: interim answers (Bun sends two for a GET), then the real one.
    const rest: string = response.body;
    const split = rest.indexOf("\r\n\r\n");
    const head = split === -1 ? rest : rest.slice(0, split);
    response = { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: split === -1 ? "" : rest.slice(split + 4) };
  }
  // A malformed request (a Host holding CRLF) can read as two: only the first answer is ours.
  const declared = /\r\ncontent-length: *(\d+)/i.exec(response.head)?.[1];
  if (!wellFormed && declared !== undefined) {
    response = { ...response, body: Buffer.from(response.body, "utf8").subarray(0, Number(declared)).toString("utf8") };
  }
  const contentType = /\r\ncontent-type: *([^\r\n]*)/i.exec(response.head)?.[1] ?? null;
  if (!wellFormed && PARSER_REFUSALS.has(response.status) && !(contentType ?? "").includes("json")) {
    if (ms > ANSWER_BOUND_MS) fail(request, `parser refusal after ${Math.round(ms)} ms`);
    return { status: 400, code: undefined, body: null, ms, text: response.body };
  }
  if (response.status === 0) fail(request, `not an HTTP answer: ${describe(response.head)}`);
  if (parts.method === "HEAD") {
    // No body by definition: the status and the type are all there is to check.
    if (response.status >= 500 || ms > ANSWER_BOUND_MS) fail(request, `HEAD answered ${response.status} after ${Math.round(ms)} ms`);
    if (response.status >= 400 && !(contentType ?? "").includes("json")) fail(request, `HEAD refused with content-type ${contentType}`);
    return { status: response.status, code: undefined, body: null, ms, text: "" };
  }
  return checkHttpAnswer(request, response.status, contentType, response.body, ms);
}
