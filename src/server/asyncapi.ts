import { Elysia } from "elysia";

/** The AsyncAPI 3 document of the WebSocket protocol at /ws. */
export function asyncApiDocs(_version: string) {
  return new Elysia();
}
