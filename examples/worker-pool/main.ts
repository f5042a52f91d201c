/**
 * A pool of workers sharing one queue of jobs. Each worker is its own connection, as separate
 * processes would be; the broker hands every job to exactly one of them, at most `prefetch` at a
 * time, and takes it off the queue when the worker acks it. Two jobs go wrong:
 * - "malformed" is refused at once: nack without requeue dead-letters it (reason `rejected`);
 * - "poison" crashes whichever worker takes it: the client nacks it with requeue, and after the
 *   queue's delivery_limit (3) the broker dead-letters it (reason `delivery_limit`).
 * Both land in `jobs.dead`, where a watcher reports them.
 *
 *   bun run examples/worker-pool/main.ts [--url http://127.0.0.1:8060] [--workers 3] [--jobs 20]
 */
import { connect, type Delivery, type PubsubClient } from "pubsub/client";
import { exampleArgs } from "../broker-url.ts";

type Job = { id: string; image: string };

const args = exampleArgs({ workers: "3", jobs: "20" });
const workerCount = Number(args.workers);
const jobCount = Number(args.jobs);
const DELIVERY_LIMIT = 3;

// Topology: the work queue dead-letters into a fanout exchange that feeds jobs.dead.
const admin = connect(args.url);
await admin.exchanges.declare({ name: "jobs.dead-letter", type: "fanout" });
await admin.queues.declare({ name: "jobs.dead", durable: true });
await admin.bindings.declare({ exchange_name: "jobs.dead-letter", queue_name: "jobs.dead" });
await admin.queues.declare({ name: "jobs", durable: true, dead_letter_exchange: "jobs.dead-letter", delivery_limit: DELIVERY_LIMIT });
// A clean run each time: whatever an earlier, interrupted run left is dropped.
await admin.queues.purge("jobs");
await admin.queues.purge("jobs.dead");

// The watcher: everything dead-lettered, with the broker's reason.
const dead: string[] = [];
await admin.subscribe<Job>("jobs.dead", (message) => {
  const reason = message.headers["x-death-reason"];
  console.log(`dead letter: job ${message.body.id} (${reason})`);
  dead.push(message.body.id);
});

// The workers.
const done = new Map<string, string>();
const workers: PubsubClient[] = [];
for (let n = 1; n <= workerCount; n++) {
  const name = `worker-${n}`;
  const worker = connect(args.url);
  workers.push(worker);
  await worker.consume<Job>(
    "jobs",
    async (job: Delivery<Job>) => {
      if (job.body.id === "malformed") {
        console.log(`${name} refuses job malformed: no image`);
        return job.nack({ requeue: false });
      }
      if (job.body.id === "poison") throw new Error(`cannot decode ${job.body.image}`);
      await Bun.sleep(5 + Math.random() * 15); // the work
      await job.ack();
      done.set(job.body.id, name);
      console.log(`${name} resized ${job.body.image}`);
    },
    {
      prefetch: 2,
      onError: (error, job) =>
        console.log(`${name} failed on job ${job.body.id} (delivery ${job.delivery_count} of ${DELIVERY_LIMIT}): ${(error as Error).message}`),
    },
  );
}

// The producer: every job confirmed by the broker (on disk: the queue is durable).
const jobs: Job[] = Array.from({ length: jobCount }, (_, i) => ({ id: String(i + 1), image: `photo-${i + 1}.jpg` }));
jobs.splice(Math.floor(jobCount / 2), 0, { id: "poison", image: "corrupt.jpg" }, { id: "malformed", image: "" });
await Promise.all(jobs.map((job) => admin.publish("", "jobs", job)));

const deadline = Date.now() + 20_000;
while ((done.size < jobCount || dead.length < 2) && Date.now() < deadline) await Bun.sleep(20);

const perWorker = workers.map((_, i) => [...done.values()].filter((w) => w === `worker-${i + 1}`).length);
console.log(`done: ${done.size} of ${jobCount} jobs by ${workerCount} workers (${perWorker.join(", ")}); dead-lettered: ${dead.sort().join(", ")}`);
await Promise.all([admin, ...workers].map((client) => client.close()));
process.exit(done.size === jobCount && dead.length === 2 ? 0 : 1);
