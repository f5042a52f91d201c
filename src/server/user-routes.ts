import { Elysia } from "elysia";
import type { Static } from "@sinclair/typebox";
import type { UserDirectory } from "../auth/users.ts";
import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import { bodyCheck } from "./body-check.ts";
import { jsonBody } from "./request-body.ts";
import { answer } from "./route-helpers.ts";
import { models } from "./schemas.ts";

const E = { 401: "Error", 403: "Error" } as const;
const check = { user: bodyCheck<Static<typeof models.UserPut>>(models.UserPut) };
const noDirectory = (): Result<never> =>
  fail(ErrorCodes.NOT_FOUND, "users are managed in USERS_FILE: this broker has none configured (tokens only, or the loopback guest)");

/**
 * The administrator's user API (RabbitMQ's /api/users and /api/permissions in one): users, their
 * admin flag and permission patterns, their API keys (a new key's text is in its answer only).
 * Changes are saved to USERS_FILE and reach open connections at once (ws-hub reauthorize).
 */
export function userRoutes(users: UserDirectory | undefined) {
  const withUsers = async <T>(then: (users: UserDirectory) => Promise<Result<T>> | Result<T>): Promise<Result<T>> => (users === undefined ? noDirectory() : then(users));
  return new Elysia()
    .model(models)
    .get("/users", async ({ set }) => answer(await withUsers((u) => ok(u.list())), set) as never, {
      response: { 200: "Users", 404: "Error", ...E },
      detail: { summary: "Users with their admin flag, permissions and key ids (never a key or its hash)", tags: ["users"] },
    })
    .get("/users/:name", async ({ params, set }) =>
      answer(await withUsers((u) => {
        const user = u.get(params.name);
        return user === undefined ? fail(ErrorCodes.USER_NOT_FOUND, `no user ${JSON.stringify(params.name)}`) : ok(user);
      }), set) as never, {
      response: { 200: "User", 404: "Error", ...E },
      detail: { tags: ["users"] },
    })
    .put("/users/:name", async ({ params, request, set }) => {
      const body = jsonBody(request, check.user);
      return answer(body.ok ? await withUsers((u) => u.putUser(params.name, body.value)) : body, set) as never;
    }, {
      response: { 200: "Declared", 400: "Error", 404: "Error", 413: "Error", 422: "Error", ...E },
      detail: {
        summary: "Create or replace a user's admin flag and permissions (its keys stay); its open connections are checked again",
        tags: ["users"],
        requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/UserPut" } } } },
      },
    })
    .delete("/users/:name", async ({ params, set }) => {
      const deleted = await withUsers((u) => u.deleteUser(params.name));
      return answer(deleted.ok ? ok({}) : deleted, set) as never;
    }, {
      response: { 200: "Empty", 404: "Error", ...E },
      detail: { summary: "Delete a user and its keys; its open connections are closed (4001)", tags: ["users"] },
    })
    .post("/users/:name/keys", async ({ params, set }) => answer(await withUsers((u) => u.createKey(params.name)), set) as never, {
      response: { 200: "NewKey", 404: "Error", ...E },
      detail: { summary: "A new API key: its text is in this answer only (only its argon2id hash is saved)", tags: ["users"] },
    })
    .delete("/users/:name/keys/:id", async ({ params, set }) => {
      const deleted = await withUsers((u) => u.deleteKey(params.name, params.id));
      return answer(deleted.ok ? ok({}) : deleted, set) as never;
    }, {
      response: { 200: "Empty", 404: "Error", ...E },
      detail: { summary: "Revoke a key; connections that used it are closed (4001)", tags: ["users"] },
    });
}

