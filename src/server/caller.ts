import type { ErrorCode } from "../core/errors.ts";
import type { Caller } from "./access.ts";

/**
 * Who sent a request, found at the edge (serve.ts: credentials, the loopback rule) before Elysia
 * sees it, and read by the access hook and the routes that filter by it. Like the parsed body, it
 * rides beside the request.
 */
const callers = new WeakMap<Request, Caller>();
/** Why the edge found no caller (no credentials, or the wrong ones), for the 401's message. */
const problems = new WeakMap<Request, { message: string; code?: ErrorCode }>();

export function attachCaller(request: Request, caller: Caller | undefined, problem?: string, code?: ErrorCode): void {
  if (caller !== undefined) callers.set(request, caller);
  else if (problem !== undefined) problems.set(request, { message: problem, code });
}

export const callerOf = (request: Request): Caller | undefined => callers.get(request);

/** The peer's address, kept beside the request: the one Elysia gets is rebuilt (a body was read), and Bun's requestIP knows only the original. */
const remotes = new WeakMap<Request, string>();
export function attachRemote(request: Request, address: string | undefined): void {
  if (address !== undefined) remotes.set(request, address);
}
export const remoteOf = (request: Request): string | undefined => remotes.get(request);
export const problemOf = (request: Request): { message: string; code?: ErrorCode } | undefined => problems.get(request);
