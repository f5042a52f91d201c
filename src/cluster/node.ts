/**
 * [CLUSTER-1] One node of a cluster. Every node starts as a follower (it passes requests on to the
 * leader, follower.ts) while it waits for the database's advisory lock; the node that holds the
 * lock is the leader: it restores the broker from Postgres, serves, and announces itself over NATS
 * after each proof that it still holds the lock. A leader that finds the lock held by another node
 * stops: the fence already kept it from writing, and stopping keeps it from serving stale state.
 */
import type { ClusterConfig, Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { SocketState } from "../server/ws-session.ts";
import { isLockLost } from "../store/postgres/database-lock.ts";
import { Follower } from "./follower.ts";
import { Forwarded } from "./forwarded.ts";
import { ClusterLink } from "./link.ts";
import { LEADER_HEARTBEAT_MS } from "./limits.ts";

export class ClusterNode {
  readonly forwarded = new Forwarded<SocketState>();
  private follower: Follower | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  /** A follower's own heartbeat, so the leader can list it. */
  private followerBeat: ReturnType<typeof setInterval> | undefined;
  private announcing = false;

  private constructor(
    readonly config: ClusterConfig,
    readonly link: ClusterLink,
    private readonly log: (line: string) => void,
  ) {}

  /** Connects to NATS and serves as a follower on HOST/HTTP_PORT until promote(). */
  static async join(config: Config, cluster: ClusterConfig, logger: Logger): Promise<ClusterNode> {
    const log = logger.line("info", "cluster");
    const link = await ClusterLink.open(cluster, logger.line("warn", "cluster"));
    const node = new ClusterNode(cluster, link, log);
    try {
      node.follower = new Follower({
        host: config.host,
        port: config.httpPort,
        node: cluster.node,
        leaders: link.leaders,
        maxPayloadBytes: config.maxPayloadBytes,
        maxBufferBytes: config.subscriberMaxBufferBytes,
        tls: config.tls,
        log,
      });
    } catch (error) {
      await link.close();
      throw new Error(`cannot listen on HOST=${config.host} HTTP_PORT=${config.httpPort}: ${error instanceof Error ? error.message : String(error)}`);
    }
    node.followerBeat = setInterval(() => link.beat(), LEADER_HEARTBEAT_MS);
    link.beat();
    // Only while following: the leader hears its own announcements too.
    link.leaders.onChange((leader) => {
      if (node.follower === undefined) return;
      log(leader === undefined ? "no leader heard from: requests get 503 NO_LEADER until one announces" : `following ${leader.node} at ${leader.url}`);
    });
    log(`node ${cluster.node} of cluster "${cluster.name}" (NATS ${cluster.natsUrl}) follows until it holds the database lock; listening on ${config.host}:${node.follower.port}`);
    return node;
  }

  /** The lock is ours and the broker restored: the follower gives up the port to the broker's own server. */
  async promote(): Promise<void> {
    clearInterval(this.followerBeat);
    await this.follower?.stop();
    this.follower = undefined;
  }

  /**
   * Leads from now on: every LEADER_HEARTBEAT_MS proves the lock (a fenced transaction) and then
   * announces. While the database does not answer, nothing is announced (followers forget this
   * leader after LEADER_SILENT_MS); when another node holds the lock, `deposed` is called.
   */
  lead(assertOwner: () => Promise<void>, deposed: () => void): void {
    const since = Date.now();
    const leader = { node: this.config.node, url: this.config.advertiseUrl, token: this.forwarded.token, since };
    const beat = async () => {
      if (this.announcing) return;
      this.announcing = true;
      try {
        await assertOwner();
        this.link.announce(leader);
      } catch (error) {
        if (isLockLost(error)) {
          clearInterval(this.heartbeat);
          this.log("another node holds the database lock: this node stops leading");
          deposed();
        }
      } finally {
        this.announcing = false;
      }
    };
    this.heartbeat = setInterval(() => void beat(), LEADER_HEARTBEAT_MS);
    void beat();
    this.log(`node ${this.config.node} leads cluster "${this.config.name}", reached at ${this.config.advertiseUrl}`);
  }

  /** What /overview and /metrics say of the cluster (this node leads: it is the one that answers them). */
  view(): { name: string; leader: string; nodes: { node: string; role: "leader" | "follower"; url: string }[] } {
    return { name: this.config.name, leader: this.config.node, nodes: this.link.nodes() };
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.followerBeat);
    await this.follower?.stop();
    await this.link.close();
  }
}
