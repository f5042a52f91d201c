#!/usr/bin/env bun
/**
 * The executable's entry: `pubsub [serve]` starts the broker; `publish`, `subscribe`, `consume`,
 * `exchanges`, `queues`, `bindings` talk to a running one (src/cli/); `--help`, `--version`.
 * Each side is imported only when used: a client command never loads the server.
 */
import pkg from "../package.json" with { type: "json" };
import { catchSignals } from "./signals.ts";
import { usage } from "./cli/usage.ts";

const [command = "serve", ...rest] = process.argv.slice(2);

switch (command) {
  case "--help":
  case "-h":
  case "help":
    process.stdout.write(usage(pkg.version));
    break;
  case "--version":
  case "-v":
  case "version":
    console.log(pkg.version);
    break;
  case "serve": {
    if (rest.length > 0) fatal(`serve takes no arguments, got: ${rest.join(" ")}`);
    // Before anything slow is loaded: a SIGTERM at any moment of start-up ends cleanly [SIGNAL-1].
    const signals = catchSignals();
    const [{ ConfigError, loadConfig }, { startBroker }] = await Promise.all([import("./config.ts"), import("./run.ts")]);
    try {
      await startBroker(loadConfig(), pkg.version, signals);
    } catch (error) {
      fatal(error instanceof ConfigError || error instanceof Error ? error.message : String(error));
    }
    break;
  }
  case "token": {
    const { tokenCommand } = await import("./cli/token.ts");
    process.exit(await tokenCommand(rest));
  }
  case "key": {
    const { keyCommand } = await import("./cli/keys.ts");
    process.exit(await keyCommand(rest));
  }
  default: {
    const cli = await import("./cli/index.ts");
    if (!cli.isClientCommand(command)) {
      process.stderr.write(`unknown command "${command}"\n\n${usage(pkg.version)}`);
      process.exit(2);
    }
    process.exit(await cli.runCli(command, rest));
  }
}

function fatal(message: string): never {
  console.error(`pubsub: ${message}`);
  process.exit(1);
}
