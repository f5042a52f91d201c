import { Type as t } from "@sinclair/typebox";

/** The user models, merged into schemas.ts's. */
const PermissionPatterns = t.Object({
  configure: t.Optional(t.String({ description: "Regex over exchange and queue names: declare, delete" })),
  write: t.Optional(t.String({ description: "Regex: publish to an exchange, bind into a queue" })),
  read: t.Optional(t.String({ description: "Regex: subscribe, consume, peek, purge a queue; bind from an exchange" })),
  deny: t.Optional(t.Object({ configure: t.Optional(t.String()), write: t.Optional(t.String()), read: t.Optional(t.String()) }, { description: "Deny patterns win over allows" })),
  topics: t.Optional(t.Array(t.Object({ exchange: t.String(), write: t.Optional(t.String()), read: t.Optional(t.String()) }), { description: "Routing-key patterns on topic exchanges" })),
});
export const userModels = {
  Permissions: PermissionPatterns,
  UserPut: t.Object({ admin: t.Optional(t.Boolean()), permissions: t.Optional(t.Unknown({ description: "A Permissions object; checked by the user directory, which names a bad field or regex" })) }, { additionalProperties: false }),
  User: t.Object({ name: t.String(), admin: t.Boolean(), permissions: t.Unknown(), keys: t.Array(t.Object({ id: t.String(), created_at: t.Union([t.String(), t.Null()]) })) }),
  Users: t.Array(t.Object({ name: t.String(), admin: t.Boolean(), permissions: t.Unknown(), keys: t.Array(t.Object({ id: t.String(), created_at: t.Union([t.String(), t.Null()]) })) })),
  Login: t.Object(
    {
      token: t.Optional(t.String({ minLength: 1, description: "An API key or a JWT" })),
      user: t.Optional(t.String({ description: "With key: a user and one of its API keys" })),
      key: t.Optional(t.String({ minLength: 1 })),
    },
    { additionalProperties: false },
  ),
  SessionInfo: t.Object({
    user: t.String(),
    admin: t.Boolean(),
    expires_at: t.Union([t.Integer(), t.Null()]),
    csrf_token: t.Union([t.String(), t.Null()], { description: "Send as X-CSRF-Token with a session cookie on every request that changes state; null without a session" }),
    mode: t.String({ description: "none (AUTH=none), guest (loopback, no users) or users" }),
  }),
  NewKey: t.Object({ id: t.String(), key: t.String({ description: "Send as Authorization: Bearer <key>, or Basic user:key; shown once" }) }),
};
