#!/usr/bin/env bun
/** The executable's entry: `pubsub [serve]` starts the broker; `--help`, `--version`. */
import pkg from "../package.json" with { type: "json" };
import { ConfigError, loadConfig } from "./config.ts";
import { startBroker } from "./run.ts";

const USAGE = `pubsub ${pkg.version}: a message broker with exchanges, durable queues and WebSocket subscribers

Usage:
  pubsub [serve]      start the broker (configured by environment variables, see README)
  pubsub --help       this text
  pubsub --version    the version
`;

const [command = "serve", ...rest] = process.argv.slice(2);

switch (command) {
  case "--help":
  case "-h":
  case "help":
    process.stdout.write(USAGE);
    break;
  case "--version":
  case "-v":
  case "version":
    console.log(pkg.version);
    break;
  case "serve":
    if (rest.length > 0) fatal(`serve takes no arguments, got: ${rest.join(" ")}`);
    try {
      await startBroker(loadConfig(), pkg.version);
    } catch (error) {
      fatal(error instanceof ConfigError || error instanceof Error ? error.message : String(error));
    }
    break;
  default:
    process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
    process.exit(2);
}

function fatal(message: string): never {
  console.error(`pubsub: ${message}`);
  process.exit(1);
}
