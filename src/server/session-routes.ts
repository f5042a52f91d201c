import { Elysia } from "elysia";
import type { Static } from "@sinclair/typebox";
import { ErrorCodes, fail, ok } from "../core/errors.ts";
import type { AuthEdge } from "./auth-edge.ts";
import { bodyCheck } from "./body-check.ts";
import { callerOf } from "./caller.ts";
import { jsonBody } from "./request-body.ts";
import { answer } from "./route-helpers.ts";
import { models } from "./schemas.ts";
import { SESSION_COOKIE, sessionIdOf } from "./sessions.ts";

const check = bodyCheck<Static<typeof models.Login>>(models.Login);

/**
 * The dashboard's login: POST /session with an API key (and its user) or a JWT sets an HttpOnly,
 * SameSite=Strict cookie and answers the CSRF token the page sends back on every change.
 */
export function sessionRoutes(edge: AuthEdge, secure: boolean, remoteOf: (request: Request) => string | undefined) {
  const cookie = (id: string, maxAgeSeconds: number) =>
    `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? "; Secure" : ""}`;
  return new Elysia()
    .model(models)
    .post("/session", async ({ request, set }) => {
      const body = jsonBody(request, check);
      if (!body.ok) return answer(body, set) as never;
      const { token, user, key } = body.value;
      const credential = token !== undefined ? { bearer: token } : user !== undefined && key !== undefined ? { basic: { user, password: key } } : undefined;
      if (credential === undefined) return answer(fail(ErrorCodes.VALIDATION, "send {token} (an API key or a JWT) or {user, key}"), set) as never;
      const who = await edge.verify(credential, remoteOf(request), request);
      if (who.retryAfterMs !== undefined) set.headers["retry-after"] = String(Math.ceil(who.retryAfterMs / 1000));
      if (who.caller === undefined) return answer(fail(who.code ?? ErrorCodes.UNAUTHORIZED, who.problem ?? "login failed"), set) as never;
      if (edge.sessions === undefined) return answer(fail(ErrorCodes.NOT_FOUND, "this broker keeps no sessions"), set) as never;
      const { id, session } = edge.sessions.create(who.caller);
      set.headers["set-cookie"] = cookie(id, Math.max(1, Math.floor((session.expiresAt - Date.now()) / 1000)));
      return answer(ok({ user: who.caller.user, admin: who.caller.admin, expires_at: session.expiresAt, csrf_token: session.csrf, mode: edge.mode }), set) as never;
    }, {
      response: { 200: "SessionInfo", 400: "Error", 401: "Error", 403: "Error", 404: "Error", 413: "Error", 422: "Error", 429: "Error" },
      detail: {
        summary: "Log in (the dashboard): sets an HttpOnly, SameSite=Strict session cookie; send csrf_token as X-CSRF-Token on every request that changes state",
        tags: ["auth"],
        requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/Login" } } } },
      },
    })
    .get("/session", ({ request, set }) => {
      const caller = callerOf(request);
      if (caller === undefined) return answer(fail(ErrorCodes.UNAUTHORIZED, "not logged in"), set) as never;
      const session = edge.sessions?.get(sessionIdOf(request.headers.get("cookie")));
      return answer(ok({ user: caller.user, admin: caller.admin, expires_at: session?.expiresAt ?? null, csrf_token: session?.csrf ?? null, mode: edge.mode }), set) as never;
    }, {
      response: { 200: "SessionInfo", 401: "Error", 403: "Error" },
      detail: { summary: "Who this request is (its session, credential, or the loopback guest), with the session's CSRF token", tags: ["auth"] },
    })
    .delete("/session", ({ request, set }) => {
      const id = sessionIdOf(request.headers.get("cookie"));
      const existed = edge.sessions?.get(id) !== undefined;
      edge.sessions?.delete(id);
      // The cookie is cleared either way; 404 says there was no session to end (already expired or logged out).
      set.headers["set-cookie"] = cookie("", 0);
      return answer(existed ? ok({}) : fail(ErrorCodes.NOT_FOUND, "no session to end"), set) as never;
    }, {
      response: { 200: "Empty", 403: "Error", 404: "Error" },
      detail: { summary: "Log out: the session ends and its cookie is cleared (404 when there was none)", tags: ["auth"] },
    });
}
