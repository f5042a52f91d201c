import { afterAll, afterEach, beforeAll } from "bun:test";
import { removeDir, startBroker, type BrokerProcess, type StartOptions } from "./broker-process.ts";
import type { TestSocket } from "./ws-client.ts";

/**
 * One broker for a whole test file (started before its first test, stopped after its last), and
 * the sockets its tests open, closed after each test so no subscriber leaks into the next one.
 */
export function brokerForFile(options?: StartOptions): { readonly broker: BrokerProcess; readonly sockets: TestSocket[] } {
  let broker: BrokerProcess | undefined;
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    broker = await startBroker(options);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await broker?.stop();
    if (broker) removeDir(broker.dataDir);
  });
  return {
    get broker() {
      if (broker === undefined) throw new Error("the file's broker is not started yet (use it inside a test)");
      return broker;
    },
    sockets,
  };
}
