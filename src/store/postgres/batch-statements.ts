/**
 * The statements that write many rows at once. Each is one statement whatever the row count:
 * columns travel as arrays through `unnest` (8–11 parameters, far from Postgres' 65,535 cap).
 */
import { sql, type SQL } from "drizzle-orm";
import { messageBytes } from "../../core/message.ts";
import type { DeliveryCounts, StoredMessage } from "../store.ts";
import { fence } from "./database-lock.ts";
import type { RemovalBatch } from "./removal-batches.ts";
import * as schema from "./schema.ts";

const names = (columns: { name: string }[]): SQL => sql.join(columns.map((c) => sql.identifier(c.name)), sql`, `);
const text = (values: readonly (string | null)[]): SQL => sql`${sql.param(values)}::text[]`;
const int8 = (values: readonly (number | null)[]): SQL => sql`${sql.param(values)}::int8[]`;

/**
 * Inserts the messages, upserts their recent ids and adds to the queues' counters [PAGE-1]; writes
 * nothing unless the lock's fence holds, so `inserted` short of `rows.length` means the lock is someone else's.
 */
export function insertMessages(rows: readonly StoredMessage[]): SQL {
  const m = schema.messages;
  const r = schema.recentIds;
  // One id can come several times (a publish routed to several queues); an upsert may touch a row once.
  const recent = new Map<string, { until: number; id: string }>();
  for (const row of rows) {
    if (row.message.messageId !== undefined && row.dedupUntil !== undefined) recent.set(row.message.messageId, { until: row.dedupUntil, id: row.message.id });
  }
  const ids = sql.identifier;
  return sql`
    with fence as (${fence()}),
    recent as (
      insert into ${r} (${names([r.messageId, r.until, r.id])})
      select i.* from unnest(${text([...recent.keys()])}, ${int8([...recent.values()].map((v) => v.until))}, ${text([...recent.values()].map((v) => v.id))}) as i, fence
      where fence.held
      on conflict (${ids(r.messageId.name)}) do update set ${ids(r.until.name)} = excluded.${ids(r.until.name)}, ${ids(r.id.name)} = excluded.${ids(r.id.name)}
    ),
    ins as (
    insert into ${m} (${names([m.queue, m.seq, m.id, m.exchange, m.routingKey, m.headers, m.body, m.publishedAt, m.messageId, m.expiresAt, m.deliverAt, m.redelivered, m.bytes])})
    select i.* from unnest(
      ${text(rows.map((row) => row.queue))},
      ${int8(rows.map((row) => row.seq))},
      ${text(rows.map((row) => row.message.id))},
      ${text(rows.map((row) => row.message.exchange))},
      ${text(rows.map((row) => row.message.routingKey))},
      ${text(rows.map((row) => JSON.stringify(row.message.headers)))},
      ${text(rows.map((row) => row.message.body))},
      ${int8(rows.map((row) => row.message.timestamp))},
      ${text(rows.map((row) => row.message.messageId ?? null))},
      ${int8(rows.map((row) => row.expiresAt ?? null))},
      ${int8(rows.map((row) => row.deliverAt ?? null))},
      ${sql`${sql.param(rows.map((row) => (row.redelivered === true ? 1 : 0)))}::int4[]`},
      ${int8(rows.map((row) => messageBytes(row.message)))}
    ) as i, fence
    where fence.held
    returning ${m.queue}, ${m.bytes}
    ),
    counted as (${countRows("ins", "+")})
    select count(*) as inserted from ins`;
}

/** Deletes one batch of inclusive seq ranges (see removal-batches.ts), and takes them off the queues' counters [PAGE-1]. */
export function deleteRanges(batch: RemovalBatch): SQL {
  const m = schema.messages;
  return sql`
    with del as (
      delete from ${m}
      using unnest(${text(batch.queues)}, ${int8(batch.froms)}, ${int8(batch.tos)}) as r(queue, lo, hi)
      where ${m.queue} = r.queue and ${m.seq} between r.lo and r.hi and ${m.retained} = 0
      returning ${m.queue}, ${m.bytes}
    )
    ${countRows("del", "-")}`;
}

/** [HIST-2] Marks one batch of seq ranges retained (left after delivery, kept as history), moving their bytes from waiting to retained. */
export function retainRanges(batch: RemovalBatch): SQL {
  const m = schema.messages;
  const ids = sql.identifier;
  return sql`
    with kept as (
      update ${m} set ${ids(m.retained.name)} = 1
      from unnest(${text(batch.queues)}, ${int8(batch.froms)}, ${int8(batch.tos)}) as r(queue, lo, hi)
      where ${m.queue} = r.queue and ${m.seq} between r.lo and r.hi and ${m.retained} = 0
      returning ${m.queue}, ${m.bytes}
    )
    ${countRows("kept", "-", true)}`;
}

/**
 * [PAGE-1] The queues' counters follow the rows a CTE named `rows` returned (queue, bytes): added
 * (`+`) or taken off (`-`); `retained` also adds their bytes to retained_bytes.
 */
function countRows(rows: string, sign: "+" | "-", retained = false): SQL {
  const q = schema.queues;
  const ids = sql.identifier;
  const op = sql.raw(sign);
  const alsoRetained = retained ? sql`, ${ids(q.retainedBytes.name)} = ${q.retainedBytes} + c.b` : sql``;
  return sql`
    update ${q} set ${ids(q.messageCount.name)} = ${q.messageCount} ${op} c.n, ${ids(q.messageBytes.name)} = ${q.messageBytes} ${op} c.b${alsoRetained}
    from (select r.queue, count(*) as n, sum(r.bytes) as b from ${ids(rows)} as r group by r.queue) as c
    where ${q.name} = c.queue`;
}

export function setLastSeqs(lastSeqs: ReadonlyMap<string, number>): SQL {
  const q = schema.queues;
  return sql`
    update ${q} set ${sql.identifier(q.lastSeq.name)} = u.last_seq
    from unnest(${text([...lastSeqs.keys()])}, ${int8([...lastSeqs.values()])}) as u(name, last_seq)
    where ${q.name} = u.name`;
}

/** [COUNT-1] Raises delivery counts (never lowers one); rows already deleted are skipped. */
export function setDeliveries(counts: DeliveryCounts): SQL {
  const m = schema.messages;
  const column = sql.identifier(m.deliveries.name);
  const pairs = [...counts].flatMap(([queue, list]) => list.map(([seq, deliveries]) => ({ queue, seq, deliveries })));
  return sql`
    update ${m} set ${column} = greatest(${m.deliveries}, d.deliveries)
    from unnest(${text(pairs.map((p) => p.queue))}, ${int8(pairs.map((p) => p.seq))}, ${int8(pairs.map((p) => p.deliveries))}) as d(queue, seq, deliveries)
    where ${m.queue} = d.queue and ${m.seq} = d.seq`;
}

export function markRedelivered(inFlight: ReadonlyMap<string, readonly number[]>): SQL {
  const m = schema.messages;
  const queues = [...inFlight].flatMap(([queue, seqs]) => seqs.map(() => queue));
  return sql`
    update ${m} set ${sql.identifier(m.redelivered.name)} = 1
    from unnest(${text(queues)}, ${int8([...inFlight.values()].flat())}) as r(queue, seq)
    where ${m.queue} = r.queue and ${m.seq} = r.seq`;
}
