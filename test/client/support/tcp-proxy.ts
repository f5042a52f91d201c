/**
 * A TCP relay between the client and the broker that a test can cut: every connection through it
 * is closed at once, on both sides, while the broker keeps running — a network drop, mid-stream.
 */
import type { Socket } from "bun";

export type TcpProxy = {
  readonly port: number;
  /** The broker's base URL, through the relay. */
  readonly url: string;
  /** Connections cut so far. */
  cuts: number;
  /** Closes every relayed connection (both halves); new ones are accepted as before. */
  cut(): void;
  close(): void;
};

/** One half of a relayed connection: its peer, what waits for its drain, what came before the peer was up. */
type Pipe = { peer: Socket<Pipe> | undefined; pending: Uint8Array[]; early: Uint8Array[]; closed: boolean };
const pipe = (peer?: Socket<Pipe>): Pipe => ({ peer, pending: [], early: [], closed: false });

/** Writes what it can and keeps the rest for the next drain: TCP backpressure, both ways. */
function relay(to: Socket<Pipe>, chunk: Uint8Array): void {
  const { pending } = to.data;
  if (pending.length > 0) return void pending.push(chunk);
  const written = to.write(chunk);
  if (written < chunk.length) pending.push(chunk.subarray(Math.max(written, 0)));
}

function flush(socket: Socket<Pipe>): void {
  const { pending } = socket.data;
  while (pending.length > 0) {
    const chunk = pending[0]!;
    const written = socket.write(chunk);
    if (written < chunk.length) {
      pending[0] = chunk.subarray(Math.max(written, 0));
      return;
    }
    pending.shift();
  }
}

/** `targetPort` may be a function: each connection goes where it says then (a random node of a cluster). */
export async function startProxy(targetPort: number | (() => number)): Promise<TcpProxy> {
  const live = new Set<Socket<Pipe>>();
  const end = (socket: Socket<Pipe>) => {
    live.delete(socket);
    socket.data.closed = true;
    const peer = socket.data.peer;
    if (peer && !peer.data.closed) {
      peer.data.closed = true;
      peer.end();
    }
  };
  const listener = Bun.listen<Pipe>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        client.data = pipe();
        live.add(client);
        void Bun.connect<Pipe>({
          hostname: "127.0.0.1",
          port: typeof targetPort === "number" ? targetPort : targetPort(),
          data: pipe(client),
          socket: {
            open(upstream) {
              if (client.data.closed) return void upstream.end();
              client.data.peer = upstream;
              live.add(upstream);
              for (const chunk of client.data.early) relay(upstream, chunk);
              client.data.early = [];
            },
            data: (upstream, chunk) => relay(client, new Uint8Array(chunk)),
            drain: flush,
            close: end,
            error: end,
          },
        }).catch(() => end(client));
      },
      data(client, chunk) {
        const upstream = client.data.peer;
        if (upstream) relay(upstream, new Uint8Array(chunk));
        else client.data.early.push(new Uint8Array(chunk));
      },
      drain: flush,
      close: end,
      error: end,
    },
  });
  const proxy: TcpProxy = {
    port: listener.port,
    url: `http://127.0.0.1:${listener.port}`,
    cuts: 0,
    cut() {
      proxy.cuts++;
      for (const socket of [...live]) {
        socket.data.closed = true;
        live.delete(socket);
        socket.terminate();
      }
    },
    close() {
      proxy.cut();
      listener.stop(true);
    },
  };
  return proxy;
}
