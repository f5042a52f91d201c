/** pubsub and the raw relay over HTTP: confirmed publishing with `POST /publish`. */
import { jsonPostRequest, KeepAliveConnection } from "./http-keepalive.ts";
import type { ConfirmedPublisher } from "./roles.ts";

export async function openHttpPublisher(
  host: string,
  port: number,
  path: string,
  body: string,
  expectBody: string | undefined,
  inflight: number,
  /** Sent as `Authorization: Bearer …` on every request (pubsub with users or JWT keys). */
  token?: string,
): Promise<ConfirmedPublisher> {
  const request = jsonPostRequest(host, port, path, body, token === undefined ? {} : { Authorization: `Bearer ${token}` });
  const expected = expectBody === undefined ? null : new RegExp(expectBody);
  const connections = await Promise.all(Array.from({ length: inflight }, () => KeepAliveConnection.open(host, port)));
  const checked = new Array<boolean>(inflight).fill(expected === null);
  return {
    slots: inflight,
    async publish(slot) {
      let connection = connections[slot]!;
      if (connection.closed) connection = connections[slot] = await KeepAliveConnection.open(host, port);
      const answer = await connection.request(request, !checked[slot]);
      if (answer.status < 200 || answer.status > 299) throw new Error(`HTTP ${answer.status}`);
      if (!checked[slot]) {
        checked[slot] = true;
        if (expected && !expected.test(answer.body ?? "")) {
          throw new Error(`answer ${JSON.stringify(answer.body)} does not match /${expectBody}/`);
        }
      }
    },
    async close() {
      for (const connection of connections) connection.close();
    },
  };
}
