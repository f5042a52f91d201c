/**
 * The page: subscribes to the feed and shows each tick. It keeps the seq of the last tick it
 * showed in localStorage, so a reload (or a new visit) resumes right after it: the queue's
 * history (history_size) replays what the page missed, the live stream follows, nothing twice.
 * A dropped connection is resumed the same way by the client itself; after a broker restart the
 * queue is declared again first (it is transient: the restart lost it). The status line says
 * "live" only while the subscription lives.
 */
import { connect, type Message } from "pubsub/client";
import { QUEUE, QUEUE_ARGS } from "./feed.ts";

type Tick = { n: number; symbol: string; price: number };

const STORAGE_KEY = `pubsub-live-feed:${QUEUE}:last-seq`;
const SHOWN = 50;

const brokerUrl = document.querySelector<HTMLMetaElement>('meta[name="broker"]')!.content;
const list = document.querySelector<HTMLOListElement>("#ticks")!;
const status = document.querySelector<HTMLElement>("#status")!;
const say = (text: string) => void (status.textContent = text);

const stored = localStorage.getItem(STORAGE_KEY);
const since = stored === null ? undefined : Number(stored);

const client = connect(brokerUrl, {
  onConnection: (event) => say(event.state === "open" ? "live" : `connection lost, reconnecting… (${event.error.code})`),
});

function show(message: Message<Tick>): void {
  const item = document.createElement("li");
  item.dataset.seq = String(message.seq);
  item.textContent = `#${message.seq}  ${message.body.symbol} ${message.body.price.toFixed(2)}`;
  list.prepend(item);
  while (list.children.length > SHOWN) list.lastElementChild!.remove();
  localStorage.setItem(STORAGE_KEY, String(message.seq));
}

const subscription = await client.subscribe<Tick>(QUEUE, show, {
  ...(since === undefined ? {} : { since }),
  // DECLARE_QUEUE before each SUBSCRIBE: after a broker restart the queue is there again even if
  // the page reconnects before the server does (the server then binds it again).
  declare: QUEUE_ARGS,
  onGap: (gap) => say(`resumed, but ticks before #${gap.first_available_seq} are no longer retained`),
});
say(since === undefined ? "live" : `live, resumed after #${since}`);
// The broker ended the subscription (the queue deleted, say): the page must not go on saying "live".
void subscription.closed.then((error) => {
  if (error !== undefined) say(`feed ended: ${error.code} ${error.message}`);
});

/** For the curious (and the example's test): stop the feed from the console with `feed.close()`. */
(globalThis as { feed?: unknown }).feed = {
  close: async () => {
    await subscription.close();
    await client.close();
    say("closed");
  },
};
