// Preloaded by bunfig.toml: hooks here run once for the whole `bun test` process.
import { afterAll } from "bun:test";
import { dropTestDatabases } from "./broker-process.ts";

afterAll(() => dropTestDatabases());
