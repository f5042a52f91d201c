/** The feed's names and queue arguments, shared by the server (which declares them) and the page (which declares the queue again before each subscribe). */
export const EXCHANGE = "ticker";
export const QUEUE = "live-feed";

/** The queue's arguments: the same on both sides, or the broker refuses the second declaration (Q001). */
export const QUEUE_ARGS = {
  // What a page that reconnects or reloads can resume from: the last 200 ticks it may have missed.
  history_size: 200,
  // A live feed has no use for old ticks: while no page is open they wait at most 30 s, 1000 at most.
  message_ttl: 30_000,
  max_length: 1_000,
};
