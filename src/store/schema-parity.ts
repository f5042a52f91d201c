/**
 * Compile-time check that the two dialects' schemas describe the same rows. Drizzle's `sqliteTable`
 * and `pgTable` types are unrelated, so one schema cannot serve both; this file makes `tsc` fail
 * when a column is added, renamed or retyped in one of them only. It has no runtime content.
 */
import type { Table } from "drizzle-orm";
import type * as pg from "./postgres/schema.ts";
import type * as sqlite from "./sqlite/schema.ts";

/** True only when A and B are the same type (not merely assignable one way). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;

/** Property name → database column name, e.g. `{ routingKey: "routing_key" }`. */
type ColumnNames<T extends Table> = { [K in keyof T["_"]["columns"]]: T["_"]["columns"][K]["_"]["name"] };

/** Same row on select and insert, same table name, same column names. */
type Agree<S extends Table, P extends Table> = [
  Same<S["$inferSelect"], P["$inferSelect"]>,
  Same<S["$inferInsert"], P["$inferInsert"]>,
  Same<S["_"]["name"], P["_"]["name"]>,
  Same<ColumnNames<S>, ColumnNames<P>>,
] extends [true, true, true, true]
  ? true
  : false;

export type SchemaParity = [
  Assert<Agree<typeof sqlite.exchanges, typeof pg.exchanges>>,
  Assert<Agree<typeof sqlite.queues, typeof pg.queues>>,
  Assert<Agree<typeof sqlite.bindings, typeof pg.bindings>>,
  Assert<Agree<typeof sqlite.messages, typeof pg.messages>>,
  Assert<Agree<typeof sqlite.recentIds, typeof pg.recentIds>>,
];
