import { direct } from "./direct.ts";
import { fanout } from "./fanout.ts";
import { headers } from "./headers.ts";
import { topic } from "./topic.ts";
import type { ExchangeKind, ExchangeType } from "./types.ts";

export const exchangeTypes: Record<ExchangeKind, ExchangeType> = { fanout, direct, topic, headers };

export const isExchangeKind = (x: unknown): x is ExchangeKind =>
  typeof x === "string" && Object.hasOwn(exchangeTypes, x);
