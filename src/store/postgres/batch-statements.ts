/**
 * The statements that write many rows at once. Each is one statement whatever the row count:
 * columns travel as arrays through `unnest` (8–11 parameters, far from Postgres' 65,535 cap).
 */
import { sql, type SQL } from "drizzle-orm";
import type { StoredMessage } from "../store.ts";
import { fence } from "./database-lock.ts";
import type { RemovalBatch } from "./removal-batches.ts";
import * as schema from "./schema.ts";

const names = (columns: { name: string }[]): SQL => sql.join(columns.map((c) => sql.identifier(c.name)), sql`, `);
const text = (values: readonly (string | null)[]): SQL => sql`${sql.param(values)}::text[]`;
const int8 = (values: readonly (number | null)[]): SQL => sql`${sql.param(values)}::int8[]`;

/**
 * Inserts the messages and upserts their recent ids; writes nothing unless the lock's fence holds,
 * so a row count short of `rows.length` means the lock is someone else's.
 */
export function insertMessages(rows: readonly StoredMessage[]): SQL {
  const m = schema.messages;
  const r = schema.recentIds;
  // One id can come several times (a publish routed to several queues); an upsert may touch a row once.
  const recent = new Map<string, number>();
  for (const row of rows) {
    if (row.message.messageId !== undefined && row.dedupUntil !== undefined) recent.set(row.message.messageId, row.dedupUntil);
  }
  return sql`
    with fence as (${fence()}),
    recent as (
      insert into ${r} (${names([r.messageId, r.until])})
      select i.* from unnest(${text([...recent.keys()])}, ${int8([...recent.values()])}) as i, fence
      where fence.held
      on conflict (${sql.identifier(r.messageId.name)}) do update set ${sql.identifier(r.until.name)} = excluded.${sql.identifier(r.until.name)}
    )
    insert into ${m} (${names([m.queue, m.seq, m.id, m.exchange, m.routingKey, m.headers, m.body, m.publishedAt, m.messageId, m.expiresAt, m.deliverAt])})
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
      ${int8(rows.map((row) => row.deliverAt ?? null))}
    ) as i, fence
    where fence.held`;
}

/** Deletes one batch of inclusive seq ranges (see removal-batches.ts). */
export function deleteRanges(batch: RemovalBatch): SQL {
  const m = schema.messages;
  return sql`
    delete from ${m}
    using unnest(${text(batch.queues)}, ${int8(batch.froms)}, ${int8(batch.tos)}) as r(queue, lo, hi)
    where ${m.queue} = r.queue and ${m.seq} between r.lo and r.hi`;
}

export function setLastSeqs(lastSeqs: ReadonlyMap<string, number>): SQL {
  const q = schema.queues;
  return sql`
    update ${q} set ${sql.identifier(q.lastSeq.name)} = u.last_seq
    from unnest(${text([...lastSeqs.keys()])}, ${int8([...lastSeqs.values()])}) as u(name, last_seq)
    where ${q.name} = u.name`;
}

export function markRedelivered(inFlight: ReadonlyMap<string, readonly number[]>): SQL {
  const m = schema.messages;
  const queues = [...inFlight].flatMap(([queue, seqs]) => seqs.map(() => queue));
  return sql`
    update ${m} set ${sql.identifier(m.redelivered.name)} = 1
    from unnest(${text(queues)}, ${int8([...inFlight.values()].flat())}) as r(queue, seq)
    where ${m.queue} = r.queue and ${m.seq} = r.seq`;
}
