import type { TObject, TSchema } from "@sinclair/typebox";
import { Elysia } from "elysia";
import { clientFrameText, closeCodeText, errorCodeText, serverFrameText, unsolicited, type FrameText } from "./asyncapi-frames.ts";
import { SLOW_SUBSCRIBER } from "./fan-out.ts";
import { ENVELOPE_BYTES, MAX_JSON_DEPTH } from "./limits.ts";
import { CloseCodes } from "./ws-session.ts";
import { clientFrameSchema, clientPayloads, frameErrorCodes, serverFrames, type ClientFrameType, type ServerFrameName } from "./ws-schemas.ts";

/**
 * The AsyncAPI 3 document of the WebSocket protocol at /ws, generated from the schemas the broker
 * checks frames with (ws-schemas.ts) and the words in asyncapi-frames.ts. Served at ASYNCAPI_PATH.
 */
export const ASYNCAPI_PATH = "/asyncapi.json";

const CHANNEL = "ws";
const channelRef = { $ref: `#/channels/${CHANNEL}` };
const messageRef = (name: string) => ({ $ref: `#/channels/${CHANNEL}/messages/${name}` });

/** SUBSCRIBE → Subscribe, DECLARE_QUEUE → DeclareQueue: a client frame's message name in the document. */
export const messageNameOf = (type: ClientFrameType): string => type.toLowerCase().replace(/(?:^|_)([a-z])/g, (_, c: string) => c.toUpperCase());
const operationNameOf = (message: string): string => message[0]!.toLowerCase() + message.slice(1);

/** TypeBox schemas are JSON Schema with symbol keys; the document carries the plain JSON. */
const plain = (schema: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(schema));
const table = (head: [string, string], rows: Array<[string, string]>): string =>
  [`| ${head[0]} | ${head[1]} |`, "| --- | --- |", ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join("\n");
/** The frame's `type`, as its schema fixes it. */
const typeOf = (schema: TObject): string => (schema.properties.type as unknown as { const: string }).const;
/** Frames that carry an `id` (client frames, replies) correlate by it. */
const carriesId = (schema: TObject): boolean => "id" in ((schema.properties.payload as TObject | undefined)?.properties ?? {});

function message(schema: TObject, text: FrameText) {
  return {
    name: typeOf(schema),
    title: text.title,
    summary: text.summary,
    ...(text.description === undefined ? {} : { description: text.description }),
    contentType: "application/json",
    payload: plain(schema),
    ...(carriesId(schema) ? { correlationId: { $ref: "#/components/correlationIds/frameId" } } : {}),
    examples: text.examples,
  };
}

const clientTypes = Object.keys(clientPayloads) as ClientFrameType[];
const serverNames = Object.keys(serverFrames) as ServerFrameName[];

const closeCodeRows: Array<[string, string]> = [
    ...(Object.entries(CloseCodes) as Array<[keyof typeof CloseCodes, number]>).map(([name, code]): [string, string] => [
      `\`${code}\``,
      code === SLOW_SUBSCRIBER.code ? `${closeCodeText[name]} (reason: "${SLOW_SUBSCRIBER.reason}")` : (closeCodeText[name] ?? name),
    ]),
    ["`1007`", "A text frame that is not UTF-8 (Bun closes it; a binary frame gets ERROR `BAD_JSON` instead)"],
];
const closeCodes = table(["code", "when"], closeCodeRows.sort((a, b) => a[0].localeCompare(b[0])));

const CHANNEL_DESCRIPTION = `Every frame is one JSON text message; a binary frame is read as the same UTF-8 JSON text.
A client frame is \`{"type": "…", "payload": {…}}\`, its \`id\` (optional) in the payload; as with the seed's Go server,
\`type\`, \`payload\` and \`queue_name\` also match case-insensitively (\`{"Type":"SUBSCRIBE","Payload":{"Queue_Name":"billing"}}\`).
Payloads are closed: an unknown field is ERROR \`VALIDATION\` naming it, never ignored. A frame may be MAX_PAYLOAD_BYTES
(default 1 MiB) plus ${ENVELOPE_BYTES >> 10} KiB, and nest ${MAX_JSON_DEPTH} levels deep. A refused frame takes no effect and the socket stays open.

The upgrade (\`GET /ws\`) is refused over HTTP with 403 \`HOST_NOT_ALLOWED\` (Host or Origin not in ALLOWED_HOSTS),
503 \`SHUTTING_DOWN\`, or 405 for another method.

Close codes:

${closeCodes}`;

const ERROR_CODES = table(["code", "meaning"], frameErrorCodes.map((code): [string, string] => [`\`${code}\``, errorCodeText[code]]));

function channelMessages() {
  const messages: Record<string, unknown> = {};
  const add = (name: string, value: unknown) => {
    if (name in messages) throw new Error(`two frames named ${name} in the AsyncAPI document`);
    messages[name] = value;
  };
  for (const type of clientTypes) add(messageNameOf(type), message(clientFrameSchema(type), clientFrameText[type]));
  for (const name of serverNames) {
    const text = serverFrameText[name];
    add(name, message(serverFrames[name], name === "Error" ? { ...text, description: `The codes (the REST API's):\n\n${ERROR_CODES}` } : text));
  }
  return messages;
}

function operations() {
  const ops: Record<string, unknown> = {};
  for (const type of clientTypes) {
    const text = clientFrameText[type];
    const name = messageNameOf(type);
    ops[operationNameOf(name)] = {
      action: "receive",
      channel: channelRef,
      title: text.title,
      summary: text.summary,
      messages: [messageRef(name)],
      reply: { channel: channelRef, messages: text.replies.map(messageRef) },
    };
  }
  for (const name of unsolicited) {
    ops[`send${name}`] = { action: "send", channel: channelRef, title: serverFrameText[name].title, summary: serverFrameText[name].summary, messages: [messageRef(name)] };
  }
  return ops;
}

/** The document without `servers`, which name the host it was fetched from. */
export function asyncApiDocument(version: string) {
  return {
    asyncapi: "3.0.0",
    info: {
      title: "pubsub WebSocket protocol",
      version,
      description:
        "The WebSocket protocol of the pubsub broker at `/ws`. This document describes the broker: its `receive` operations are the frames a " +
        "client sends, its `send` operations those the broker sends on its own; each client frame lists its replies. A reply comes only for a " +
        "frame that had an `id`, and names it (QUEUE_DECLARED, PONG and ERROR always come). Generated from the schemas the broker checks frames " +
        "with. The REST API is at `/swagger` (OpenAPI: `/swagger/json`).",
    },
    defaultContentType: "application/json",
    channels: {
      [CHANNEL]: {
        address: "/ws",
        title: "WebSocket",
        summary: "Subscribe, consume, acknowledge and publish over one connection",
        description: CHANNEL_DESCRIPTION,
        messages: channelMessages(),
        bindings: { ws: { method: "GET", bindingVersion: "0.1.0" } },
      },
    },
    operations: operations(),
    components: {
      correlationIds: {
        frameId: { description: "The client's `id`: a reply or ERROR names the frame it answers", location: "$message.payload#/payload/id" },
      },
    },
  };
}

/**
 * Mount with `app.use(asyncApiDocs(version))`: GET /asyncapi.json. Kept out of the OpenAPI
 * document, as /swagger/json is: it is the other document, not a route of the REST API.
 */
export function asyncApiDocs(version: string) {
  const { asyncapi, info, ...rest } = asyncApiDocument(version);
  return new Elysia().get(
    ASYNCAPI_PATH,
    ({ request }) => {
      // The host this was fetched through is the one a client can reach the broker at.
      const host = request.headers.get("host") ?? "localhost";
      return { asyncapi, info, servers: { broker: { host, protocol: "ws", description: "This broker (wss behind a TLS proxy)" } }, ...rest };
    },
    { detail: { hide: true } },
  );
}
