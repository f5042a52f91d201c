/**
 * One stream of shop events, fanned out to several services through a topic exchange. Each
 * service binds its own queue with the patterns it cares about, and gets its own copy of every
 * matching event — billing and shipping as competing consumers of their queues (scale them by
 * starting more), analytics as a subscriber that observes everything.
 *
 *   bun run examples/event-fanout/main.ts [--url http://127.0.0.1:8060]
 */
import { connect, type PubsubClient } from "pubsub/client";
import { exampleArgs } from "../broker-url.ts";

type ShopEvent = { order?: string; user: string; total?: number };

const args = exampleArgs({});
const EXCHANGE = "shop.events";

/** Who listens to what: topic patterns, `*` one word, `#` any number. */
const SERVICES = [
  { name: "billing", patterns: ["order.placed", "order.cancelled"], mode: "consume" },
  { name: "shipping", patterns: ["order.paid"], mode: "consume" },
  { name: "email", patterns: ["user.*", "order.placed"], mode: "consume" },
  { name: "analytics", patterns: ["#"], mode: "subscribe" },
] as const;

const EVENTS: [string, ShopEvent][] = [
  ["user.signed_up", { user: "ada" }],
  ["order.placed", { order: "o-1", user: "ada", total: 42 }],
  ["order.paid", { order: "o-1", user: "ada", total: 42 }],
  ["user.signed_up", { user: "grace" }],
  ["order.placed", { order: "o-2", user: "grace", total: 7 }],
  ["order.cancelled", { order: "o-2", user: "grace" }],
  ["stock.low", { user: "system" }],
];

const admin = connect(args.url);
await admin.exchanges.declare({ name: EXCHANGE, type: "topic" });

const clients: PubsubClient[] = [admin];
const received = new Map<string, string[]>();
for (const service of SERVICES) {
  const queue = `${service.name}.events`;
  await admin.queues.declare({ name: queue, durable: service.mode === "consume" });
  await admin.queues.purge(queue); // a clean run each time
  for (const key of service.patterns) await admin.bindings.declare({ exchange_name: EXCHANGE, queue_name: queue, key });

  const got: string[] = [];
  received.set(service.name, got);
  const client = connect(args.url);
  clients.push(client);
  const log = (key: string, event: ShopEvent) => {
    got.push(key);
    console.log(`${service.name.padEnd(9)} ← ${key.padEnd(15)} ${JSON.stringify(event)}`);
  };
  if (service.mode === "consume") {
    await client.consume<ShopEvent>(queue, async (delivery) => {
      log(delivery.routing_key, delivery.body);
      await delivery.ack();
    });
  } else {
    await client.subscribe<ShopEvent>(queue, (message) => log(message.routing_key, message.body));
  }
}

// The publisher: one confirmed publish per event, in order.
for (const [key, event] of EVENTS) {
  const { routed } = await admin.publish(EXCHANGE, key, event);
  console.log(`published ${key} → ${routed} service${routed === 1 ? "" : "s"}`);
}

// Each service gets exactly the events its patterns match.
const matches = (pattern: string, key: string): boolean =>
  new RegExp(`^${pattern.replaceAll(".", "\\.").replaceAll("*", "[^.]+").replaceAll("#", ".*")}$`).test(key);
const expected = new Map(SERVICES.map((s) => [s.name, EVENTS.map(([key]) => key).filter((key) => s.patterns.some((p) => matches(p, key)))]));
const deadline = Date.now() + 10_000;
const complete = () => SERVICES.every((s) => received.get(s.name)!.length >= expected.get(s.name)!.length);
while (!complete() && Date.now() < deadline) await Bun.sleep(20);

let ok = true;
for (const service of SERVICES) {
  const got = received.get(service.name)!;
  const want = expected.get(service.name)!;
  const same = JSON.stringify(got) === JSON.stringify(want);
  ok &&= same;
  console.log(`${service.name}: ${got.length} of ${want.length} events${same ? "" : ` — expected ${want.join(", ")}`}`);
}
await Promise.all(clients.map((client) => client.close()));
process.exit(ok ? 0 : 1);
