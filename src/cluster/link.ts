/**
 * [CLUSTER-1] The nodes' link over NATS: the leader announces itself on `pubsub.<CLUSTER_NAME>.leader`
 * every LEADER_HEARTBEAT_MS; every node listens. NATS is loaded only in a cluster.
 */
import type { NatsConnection } from "nats";
import type { ClusterConfig } from "../config.ts";
import { LeaderView, parseLeader, type Leader } from "./leader-view.ts";
import { LEADER_SILENT_MS } from "./limits.ts";

const NATS_CONNECT_TIMEOUT_MS = 5_000;

/** A node as the others hear of it. */
export type Member = { readonly node: string; readonly role: "leader" | "follower"; readonly url: string };

export class ClusterLink {
  readonly leaders = new LeaderView({ now: () => performance.now() });
  /** Every node heard from within LEADER_SILENT_MS, by name (this one included once it beats). */
  private readonly members = new Map<string, { member: Member; heardAt: number }>();
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
        if (leader === undefined) return;
        this.leaders.hear(leader);
        this.heard({ node: leader.node, role: "leader", url: leader.url });
      },
    });
    nc.subscribe(`pubsub.${config.name}.node`, {
      callback: (error, message) => {
        if (error !== null) return;
        try {
          const member = JSON.parse(this.decoder.decode(message.data)) as Member;
          if (typeof member.node === "string" && typeof member.url === "string") this.heard({ node: member.node, role: "follower", url: member.url });
        } catch {
          // not ours
        }
      },
    });
  }

  private heard(member: Member): void {
    this.members.set(member.node, { member, heardAt: performance.now() });
  }

  /** The nodes heard from lately, leader first, then by name. */
  nodes(): Member[] {
    const now = performance.now();
    const live: Member[] = [];
    for (const [name, { member, heardAt }] of this.members) {
      if (now - heardAt > LEADER_SILENT_MS) this.members.delete(name);
      else live.push(member);
    }
    return live.sort((a, b) => (a.role === b.role ? a.node.localeCompare(b.node) : a.role === "leader" ? -1 : 1));
  }

  /** A follower's heartbeat: the leader lists it in /overview and /metrics. */
  beat(): void {
    if (this.nc.isClosed()) return;
    this.nc.publish(`pubsub.${this.config.name}.node`, this.encoder.encode(JSON.stringify({ node: this.config.node, url: this.config.advertiseUrl })));
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
