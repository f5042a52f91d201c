/**
 * [RESERVED-1] Names starting with `amq.` are the broker's, as in RabbitMQ: a client cannot make a
 * new exchange or queue under one (403 `E005` / `Q007`, an ERROR over WebSocket), so no exchange of
 * its own can pass for the default exchange (`amq.default` in permission rules) and no queue for a
 * server-named one. The broker's own `amq.gen-…` names still work, and may be declared again.
 */
import { expect, test } from "bun:test";
import { Topology } from "../../src/core/topology.ts";
import { ErrorCodes } from "../../src/core/errors.ts";
import { api } from "../support/broker-process.ts";
import { brokerForFile } from "../support/file-broker.ts";
import { TestSocket } from "../support/ws-client.ts";

const file = brokerForFile();

test("[RESERVED-1] REST: a new amq.* exchange is 403 E005, a new amq.* queue 403 Q007, with the error shape; nothing is made", async () => {
  for (const name of ["amq.default", "amq.topic", "amq.mine"]) {
    const answer = await api(file.broker.url, "POST", "/exchanges", { name, type: "topic" });
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe("E005");
    expect(answer.body.error.message).toContain('"amq."');
    expect((await api(file.broker.url, "GET", `/exchanges/${name}`)).status).toBe(404);
  }
  for (const name of ["amq.gen-forged", "amq.q"]) {
    const answer = await api(file.broker.url, "POST", "/queues", { name, durable: true });
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe("Q007");
    expect((await api(file.broker.url, "GET", `/queues/${name}`)).status).toBe(404);
  }
  // Only the prefix, exactly: other names that merely contain it are a client's.
  for (const name of ["amqp.orders", "x.amq.y", "AMQ.orders", "amq"]) {
    expect((await api(file.broker.url, "POST", "/queues", { name })).status).toBe(200);
    expect((await api(file.broker.url, "POST", "/exchanges", { name, type: "direct" })).status).toBe(200);
  }
});

test("[RESERVED-1] WebSocket: DECLARE_QUEUE of an amq.* name is an ERROR Q007 with its id; without a name it is amq.gen-…, declared again by name", async () => {
  const socket = await TestSocket.open(file.broker.wsUrl);
  file.sockets.push(socket);
  socket.send({ type: "DECLARE_QUEUE", payload: { name: "amq.gen-mine", id: "forged" } });
  await socket.until((frames) => frames.some((f) => f.payload?.id === "forged"));
  expect(socket.frames.find((f) => f.payload?.id === "forged")).toMatchObject({ type: "ERROR", payload: { code: "Q007" } });

  socket.send({ type: "DECLARE_QUEUE", payload: { exclusive: true, id: "named-by-broker" } });
  await socket.until((frames) => frames.some((f) => f.payload?.id === "named-by-broker"));
  const declared = socket.frames.find((f) => f.payload?.id === "named-by-broker");
  expect(declared).toMatchObject({ type: "QUEUE_DECLARED", payload: { created: true } });
  const name: string = declared.payload.queue_name;
  expect(name).toStartWith("amq.gen-");
  // The queue exists: declaring it again by its name is idempotent, not a reservation breach.
  socket.send({ type: "DECLARE_QUEUE", payload: { name, exclusive: true, id: "again" } });
  await socket.until((frames) => frames.some((f) => f.payload?.id === "again"));
  expect(socket.frames.find((f) => f.payload?.id === "again")).toMatchObject({ type: "QUEUE_DECLARED", payload: { queue_name: name, created: false } });
});

test("[RESERVED-1] an amq.* exchange or queue that exists already (stored by an older version) may still be declared again", () => {
  const topology = new Topology();
  topology.applyDeclareExchange("amq.legacy", "direct", true);
  expect(topology.checkDeclareExchange({ name: "amq.legacy", type: "direct", durable: true })).toEqual({ ok: true, value: { exists: true, kind: "direct" } });
  expect(topology.checkDeclareExchange({ name: "amq.new", type: "direct" })).toMatchObject({ ok: false, error: { code: ErrorCodes.EXCHANGE_RESERVED } });
  expect(topology.checkDeclareQueue({ name: "amq.new" })).toMatchObject({ ok: false, error: { code: ErrorCodes.QUEUE_RESERVED } });
  expect(topology.checkDeclareQueue({ name: "amq.gen-1", serverNamed: true })).toEqual({ ok: true, value: { exists: false } });
});
