/**
 * The dashboard's only caller of fetch: one function per REST route it uses. Request and answer
 * types come from the schemas the broker validates with (through the client's wire types), so a
 * change there fails the type check here. Names in paths are always encoded.
 *
 * Signed in, the session cookie goes with every request by itself (same origin); each request that
 * changes state also carries the session's CSRF token in X-CSRF-Token [CSRF-1]. A 401 from any
 * route means the broker does not know this browser (any more): the session signal says so, and
 * the shell shows the login form.
 */
import type { Static } from "elysia";
import type { Binding, BindingDeclare, Declared, Exchange, ExchangeDeclare, Headers, PublishResult, Queue, QueueDeclare, Removed } from "../client/wire.ts";
import type { models } from "../server/schemas.ts";
import { CSRF_HEADER } from "../server/sessions.ts";
import { csrfToken, refused, session } from "./session.ts";

export type { Binding, Exchange, Headers, Queue };

/** The broker's own error, `{"error":{"code","message"}}`, with the HTTP status it came with. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Model<K extends keyof typeof models> = Static<(typeof models)[K]>;

export type Overview = Model<"Overview">;
export type Rates = Overview["totals"];
export type History = Model<"OverviewHistory">;
export type Sample = History["samples"][number];
export type Page<T> = Omit<Model<"PagedQueues">, "items"> & { items: T[] };
export type PageQuery = { page: number; page_size: number; name?: string; sort?: string; order?: "asc" | "desc" };
export type Peek = Model<"Peek">;
export type PeekedMessage = Peek["messages"][number];
export type Moved = Model<"MoveResult">;
export type Connection = Model<"Connections">["connections"][number];
/** One record of RabbitMQ's x-death header, as the broker writes it (README, Dead-lettering). */
export type Death = { count: number; reason: string; queue: string; time: number; exchange: string; "routing-keys": string[] };

export type SessionInfo = Model<"SessionInfo">;
/** `{token}` (an API key or a JWT) or `{user, key}`. */
export type Login = Model<"Login">;

export type Publish = { exchange_name: string; key: string; payload: unknown; headers?: Headers };

const segment = encodeURIComponent;
const changesState = (method: string) => method !== "GET" && method !== "HEAD";

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers["content-type"] = "application/json";
  }
  const csrf = changesState(method) ? csrfToken() : undefined;
  if (csrf !== undefined) headers[CSRF_HEADER] = csrf;
  const sentIn = session.value;
  const response = await fetch(path, init);
  if (response.status === 401) refused(sentIn);
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = typeof error?.code === "string" ? error.code : `HTTP_${response.status}`;
    const message = typeof error?.message === "string" ? error.message : text.slice(0, 200) || response.statusText;
    throw new ApiError(response.status, code, message);
  }
  return parsed as T;
}

const query = (params: Record<string, string | number | undefined>): string => {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== "") search.set(name, String(value));
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
};

export const api = {
  /** Who this browser is: its session, the loopback guest, or 401. */
  session: () => call<SessionInfo>("GET", "/session"),
  /** Sets the HttpOnly session cookie; the answer's csrf_token is kept in memory only (session.ts). */
  login: (body: Login) => call<SessionInfo>("POST", "/session", body),
  logout: () => call<object>("DELETE", "/session"),

  overview: () => call<Overview>("GET", "/overview"),
  history: () => call<History>("GET", "/overview/history"),
  /** The live samples: one connection, opened and closed by the caller. */
  streamUrl: "/overview/stream",

  exchanges: (q: PageQuery) => call<Page<Exchange>>("GET", `/exchanges${query(q)}`),
  exchange: (name: string) => call<Exchange>("GET", `/exchanges/${segment(name)}`),
  declareExchange: (body: ExchangeDeclare) => call<Declared>("POST", "/exchanges", body),
  deleteExchange: (name: string) => call<object>("DELETE", `/exchanges/${segment(name)}`),

  queues: (q: PageQuery) => call<Page<Queue>>("GET", `/queues${query(q)}`),
  queue: (name: string) => call<Queue>("GET", `/queues/${segment(name)}`),
  declareQueue: (body: QueueDeclare) => call<Declared>("POST", "/queues", body),
  deleteQueue: (name: string) => call<Removed>("DELETE", `/queues/${segment(name)}`),
  purgeQueue: (name: string) => call<Removed>("DELETE", `/queues/${segment(name)}/messages`),
  peek: (name: string, after: number, limit: number) => call<Peek>("GET", `/queues/${segment(name)}/messages${query({ after, limit })}`),
  move: (name: string, body: Model<"MoveRequest">) => call<Moved>("POST", `/queues/${segment(name)}/move`, body),

  bindings: (q: PageQuery & { exchange?: string; queue?: string }) => call<Page<Binding>>("GET", `/bindings${query(q)}`),
  bind: (body: BindingDeclare) => call<Declared>("POST", "/bindings", body),
  unbind: (body: BindingDeclare) => call<object>("DELETE", "/bindings", body),

  publish: (body: Publish) => call<PublishResult>("POST", "/publish", body),

  connections: (queue?: string) => call<Model<"Connections">>("GET", `/connections${query({ queue })}`),
  closeConnection: (id: string) => call<object>("DELETE", `/connections/${segment(id)}`),
};
