/**
 * [CLUSTER-1] A load process of bench/cluster.ts; prints one JSON line and exits.
 *   publish <url> <queue> <inFlight> <seconds>       POST /publish, `inFlight` at once, for `seconds`
 *   subscribe <wsUrl> <queue> <sockets> <expected> <seconds>   counts MESSAGE frames over `sockets` sockets
 *   ws-publish <wsUrl> <queue> <count> <bytes>       PUBLISH frames without id (no CONFIRM), paced by bufferedAmount
 */
export {};
const [mode, ...args] = process.argv.slice(2);

if (mode === "publish") {
  const [url, queue, inFlight, seconds] = args as [string, string, string, string];
  const body = JSON.stringify({ exchange_name: "", key: queue, payload: "x".repeat(200) });
  const deadline = performance.now() + Number(seconds) * 1000;
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Number(inFlight) }, async () => {
      while (performance.now() < deadline) {
        const answer = await fetch(`${url}/publish`, { method: "POST", body, headers: { "content-type": "application/json" } }).catch(() => undefined);
        if (answer?.status === 200) ok++;
        else failed++;
        await answer?.arrayBuffer();
      }
    }),
  );
  console.log(JSON.stringify({ ok, failed, seconds: (performance.now() - started) / 1000 }));
} else if (mode === "subscribe") {
  const [wsUrl, queue, sockets, expected, seconds] = args as [string, string, string, string, string];
  let received = 0;
  let first = 0;
  let last = 0;
  const want = Number(expected);
  const opened = await Promise.all(
    Array.from({ length: Number(sockets) }, () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(wsUrl);
        ws.onopen = () => {
          ws.send(JSON.stringify({ type: "SUBSCRIBE", payload: { queue_name: queue, id: "s" } }));
        };
        ws.onmessage = (event) => {
          const text = String(event.data);
          if (text.startsWith('{"type":"SUBSCRIBED"')) return resolve(ws);
          received++;
          last = performance.now();
          if (first === 0) first = last;
        };
        ws.onerror = () => reject(new Error(`cannot open ${wsUrl}`));
      }),
    ),
  );
  console.log(JSON.stringify({ ready: true }));
  const deadline = performance.now() + Number(seconds) * 1000;
  while (received < want && performance.now() < deadline) await Bun.sleep(5);
  for (const ws of opened) ws.close();
  console.log(JSON.stringify({ received, seconds: (last - first) / 1000 }));
} else if (mode === "ws-publish") {
  const [wsUrl, queue, count, bytes] = args as [string, string, string, string];
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve) => (ws.onopen = resolve));
  const frame = JSON.stringify({ type: "PUBLISH", payload: { exchange_name: "", key: queue, payload: "x".repeat(Number(bytes)) } });
  const started = performance.now();
  for (let i = 0; i < Number(count); i++) {
    ws.send(frame);
    while (ws.bufferedAmount > 1 << 20) await Bun.sleep(1);
  }
  while (ws.bufferedAmount > 0) await Bun.sleep(1);
  console.log(JSON.stringify({ sent: Number(count), seconds: (performance.now() - started) / 1000 }));
  ws.close();
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
