/**
 * [CLUSTER-1] The nodes' link over NATS: the leader announces itself on `pubsub.<CLUSTER_NAME>.leader`
 * every LEADER_HEARTBEAT_MS; every node listens. NATS is loaded only in a cluster.
 */
import type { NatsConnection } from "nats";
import type { ClusterConfig } from "../config.ts";
import { LeaderView, parseLeader, type Leader } from "./leader-view.ts";

const NATS_CONNECT_TIMEOUT_MS = 5_000;

export class ClusterLink {
  readonly leaders = new LeaderView({ now: () => performance.now() });
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  private constructor(
    private readonly nc: NatsConnection,
    readonly config: ClusterConfig,
  ) {
    nc.subscribe(this.subject, {
      callback: (error, message) => {
        if (error !== null) return;
        const leader = parseLeader(this.decoder.decode(message.data));
        if (leader !== undefined) this.leaders.hear(leader);
      },
    });
  }

  /** Connects to NATS (retrying for ever once connected: a link that drops comes back by itself). */
  static async open(config: ClusterConfig, log: (line: string) => void): Promise<ClusterLink> {
    const { connect } = await import("nats");
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: config.natsUrl, name: `pubsub ${config.node}`, timeout: NATS_CONNECT_TIMEOUT_MS, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    } catch (error) {
      throw new Error(`cannot connect to NATS at ${config.natsUrl} (NATS_URL): ${error instanceof Error ? error.message : String(error)}`);
    }
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === "disconnect") log(`lost NATS at ${config.natsUrl}: the cluster link is down until it comes back`);
        else if (status.type === "reconnect") log(`NATS at ${config.natsUrl} answers again`);
      }
    })();
    return new ClusterLink(nc, config);
  }

  private get subject(): string {
    return `pubsub.${this.config.name}.leader`;
  }

  /** Announces this node as the leader (it has just proven it holds the database lock). */
  announce(leader: Leader): void {
    if (this.nc.isClosed()) return;
    this.nc.publish(this.subject, this.encoder.encode(JSON.stringify(leader)));
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close());
  }
}
