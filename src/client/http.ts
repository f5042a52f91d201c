import { isDotSegment } from "../core/path-segments.ts";
import { brokerError, ClientErrorCodes, PubsubError } from "./errors.ts";
import type { Tokens } from "./tokens.ts";

export type HttpOptions = {
  /** The broker's base URL, e.g. http://127.0.0.1:8060 (a path prefix is kept). */
  readonly baseUrl: URL;
  /** [CLUSTER-1] Nodes of one cluster, baseUrl first: a call goes to the next when one refuses the connection or knows no leader. */
  readonly baseUrls?: readonly URL[];
  readonly fetch: typeof fetch;
  /** Longest a REST call may take. */
  readonly timeoutMs: number;
  /** Sent as `Authorization: Bearer`; none: no header (the seed's API). */
  readonly tokens?: Tokens;
};

/**
 * The path of an exchange or queue: `/queues/a%2Fb` is the queue `a/b`. Names go into paths
 * encoded, so none can reach another resource. `.` and `..` cannot go at all — every URL parser
 * resolves them, `/queues/.` is `/queues` — and neither can a lone surrogate (not Unicode): both
 * throw INVALID_NAME before any request, as the broker refuses such names anyway.
 */
export function pathOf(kind: "exchange" | "queue", name: string): string {
  const refuse = (why: string) => new PubsubError("INVALID_NAME", `${kind} name ${JSON.stringify(name)} ${why}`);
  if (isDotSegment(name)) throw refuse("cannot be put in a URL path (it is a dot segment); the broker refuses such names");
  try {
    return `/${kind}s/${encodeURIComponent(name)}`;
  } catch {
    throw refuse("is not valid Unicode (a lone surrogate); the broker refuses such names");
  }
}

/** The URL of `path` under the base URL, keeping the base's own path. */
export function urlOf(baseUrl: URL, path: string, query: Record<string, string | boolean | undefined> = {}): URL {
  const base = baseUrl.href.endsWith("/") ? baseUrl.href : `${baseUrl.href}/`;
  const url = new URL(path.replace(/^\//, ""), base);
  for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, String(value));
  return url;
}

/** Where the broker is, said the way people write it: `http://127.0.0.1:8060`. */
export const brokerAt = (baseUrl: URL): string => baseUrl.href.replace(/\/$/, "");

/**
 * One REST call. Resolves with the parsed answer; rejects with a PubsubError carrying the broker's
 * code (and status), or UNREACHABLE / TIMEOUT / BAD_RESPONSE when there is no broker answer to read.
 */
export async function call<T>(
  http: HttpOptions,
  method: "GET" | "POST" | "DELETE",
  path: string,
  options: { body?: unknown; query?: Record<string, string | boolean | undefined> } = {},
): Promise<T> {
  const nodes = http.baseUrls ?? [http.baseUrl];
  for (let i = 0; ; i++) {
    const node = nodes[i]!;
    try {
      return await callNode<T>({ ...http, baseUrl: node }, method, path, options);
    } catch (error) {
      // Only where the request surely did nothing: a refused connection, or a node with no leader to pass it to.
      const untouched = error instanceof PubsubError && ((error.code === ClientErrorCodes.UNREACHABLE && /connection refused/.test(error.message)) || error.code === "NO_LEADER");
      if (!untouched || i + 1 >= nodes.length) throw error;
    }
  }
}

async function callNode<T>(
  http: HttpOptions,
  method: "GET" | "POST" | "DELETE",
  path: string,
  options: { body?: unknown; query?: Record<string, string | boolean | undefined> },
): Promise<T> {
  const headers: Record<string, string> = options.body === undefined ? {} : { "content-type": "application/json" };
  // The latest token, renewed first when a JWT is near its exp; a failing source rejects with TOKEN_UNAVAILABLE.
  if (http.tokens !== undefined) headers.authorization = `Bearer ${await http.tokens.current()}`;
  let response: Response;
  try {
    response = await http.fetch(urlOf(http.baseUrl, path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(http.timeoutMs),
    });
  } catch (error) {
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
      throw new PubsubError(ClientErrorCodes.TIMEOUT, `${method} ${path}: no answer from ${brokerAt(http.baseUrl)} within ${http.timeoutMs} ms`);
    }
    throw new PubsubError(ClientErrorCodes.UNREACHABLE, `cannot reach the broker at ${brokerAt(http.baseUrl)}: ${reasonOf(error)}`);
  }
  const text = await response.text();
  let answer: unknown;
  try {
    answer = text === "" ? {} : JSON.parse(text);
  } catch {
    throw new PubsubError(ClientErrorCodes.BAD_RESPONSE, `${method} ${path}: ${response.status} with a body that is not JSON`, response.status);
  }
  if (response.ok) return answer as T;
  if (isErrorBody(answer)) throw brokerError(answer.error, response.status);
  throw new PubsubError(ClientErrorCodes.BAD_RESPONSE, `${method} ${path}: ${response.status} ${text.slice(0, 200)}`, response.status);
}

const isErrorBody = (v: unknown): v is { error: { code: string; message: string } } =>
  typeof v === "object" && v !== null && typeof (v as { error?: { code?: unknown } }).error?.code === "string";

/** fetch's own errors say little ("fetch failed"); the cause says "ECONNREFUSED". */
export function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = (error as { code?: unknown }).code ?? cause?.code;
  if (typeof code === "string") return /refused/i.test(code) || code === "ECONNREFUSED" ? "connection refused" : code;
  return typeof cause?.message === "string" ? cause.message : error.message;
}
