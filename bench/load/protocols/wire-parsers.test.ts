/** The load generators' hand-written parsers: what they count must be what the broker sent. */
import { describe, expect, test } from "bun:test";
import { parseResponse } from "./http-keepalive.ts";
import { WsFrameReader } from "./ws-frame-reader.ts";
import { benchPayload, readStamp, stampOffset, writeStamp } from "../specs.ts";
import { zeroMaskTextFrame } from "./ws-wire.ts";

describe("parseResponse", () => {
  const parse = (text: string) => parseResponse(Buffer.from(text), true);

  test.each([
    ["Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"routed\":1}", 200, '{"routed":1}'],
    ["lower-case header", "HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok", 201, "ok"],
    ["upper-case header", "HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 2\r\n\r\nok", 200, "ok"],
    ["chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 200, "hello world"],
    ["no body", "HTTP/1.1 204 No Content\r\n\r\n", 204, ""],
  ])("%s", (_name, text, status, body) => {
    expect(parse(text)).toEqual({ length: Buffer.byteLength(text), status, body });
  });

  test("an incomplete answer needs more bytes", () => {
    expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"rou")).toBeNull();
    expect(parse("HTTP/1.1 200 OK\r\nContent-Len")).toBeNull();
  });

  test("two answers in one read: the first one's length", () => {
    const one = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    expect(parse(one + one)?.length).toBe(one.length);
  });
});

/** An unmasked server frame. */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, length])
      : length < 65536
        ? Buffer.from([(fin ? 0x80 : 0) | opcode, 126, length >> 8, length & 0xff])
        : Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 127]), bigEndian64(length)]);
  return Buffer.concat([header, payload]);
}

function bigEndian64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(value));
  return bytes;
}

describe("WsFrameReader", () => {
  const first = Buffer.from('{"unique_id":"a","body":"bench-payload:xx","TTL":0}');
  const stream = Buffer.concat([
    serverFrame(0x1, first),
    serverFrame(0x1, Buffer.alloc(300, "m")), // 16-bit length
    serverFrame(0x9, Buffer.from("are you there")), // ping, between messages
    serverFrame(0x2, Buffer.alloc(70_000, 1)), // 64-bit length
    serverFrame(0x1, Buffer.from("frag"), false), // a message in two fragments counts once
    serverFrame(0x0, Buffer.from("ment"), true),
    serverFrame(0x1, Buffer.alloc(0)), // empty message
  ]);

  function readInChunks(size: number) {
    const pings: string[] = [];
    const reader = new WsFrameReader((opcode, payload) => {
      if (opcode === 0x9) pings.push(payload.toString());
    });
    for (let at = 0; at < stream.length; at += size) reader.feed(stream.subarray(at, at + size));
    return { reader, pings };
  }

  test.each([1, 2, 3, 7, 64, 1000, 1 << 20])("in chunks of %i bytes", (size) => {
    const { reader, pings } = readInChunks(size);
    expect(reader.messages).toBe(5);
    expect(reader.firstMessage).toBe(first.toString());
    expect(pings).toEqual(["are you there"]);
  });

  test.each([1, 5, 64, 1 << 20])("hands every message's bytes to onMessage, in chunks of %i bytes", (size) => {
    const seen: string[] = [];
    const reader = new WsFrameReader(() => {});
    reader.onMessage = (payload) => seen.push(payload.toString("latin1"));
    for (let at = 0; at < stream.length; at += size) reader.feed(stream.subarray(at, at + size));
    expect(seen).toEqual([first.toString(), "m".repeat(300), Buffer.alloc(70_000, 1).toString("latin1"), "fragment", ""]);
  });
});

describe("[BATCH-1] counting batched deliveries", () => {
  const message = (seq: number) => `{"type":"MESSAGE","unique_id":"u${seq}","body":"bench-payload:x","TTL":0,"queue":"q","seq":${seq}}`;
  const batch = (from: number, count: number) =>
    Buffer.from(`{"type":"MESSAGES","count":${count},"queue":"q","messages":[${Array.from({ length: count }, (_, i) => message(from + i)).join(",")}]}`);
  const stream = Buffer.concat([serverFrame(0x1, Buffer.from(message(1))), serverFrame(0x1, batch(2, 12)), serverFrame(0x1, batch(14, 300)), serverFrame(0x1, Buffer.from(message(314)))]);

  test.each([1, 3, 29, 64, 1 << 20])("a MESSAGES frame counts as its count, in chunks of %i bytes", (size) => {
    const reader = new WsFrameReader(() => {});
    reader.countBatches = true;
    for (let at = 0; at < stream.length; at += size) reader.feed(stream.subarray(at, at + size));
    expect(reader.messages).toBe(314);
    expect(reader.firstMessage).toBe(message(1));
  });

  test("without countBatches a frame is one message, whatever it holds", () => {
    const reader = new WsFrameReader(() => {});
    reader.feed(stream);
    expect(reader.messages).toBe(4);
  });
});

describe("stamps", () => {
  test("a stamp written into a frame is read back from the delivery", () => {
    const frame = zeroMaskTextFrame(JSON.stringify({ type: "PUBLISH", payload: { payload: benchPayload() } }));
    const at = stampOffset(frame);
    expect(at).toBeGreaterThan(0);
    writeStamp(frame, at, 1_795_786_749_001_992);
    const delivery = Buffer.from(`{"body":"${frame.toString("latin1", at - "bench-payload:".length, at + 40)}"}`);
    expect(readStamp(delivery)).toBe(1_795_786_749_001_992);
    expect(readStamp(Buffer.from(benchPayload()))).toBeNull();
  });

  test("the zero-mask frame carries the text as is", () => {
    const frame = zeroMaskTextFrame("x".repeat(300));
    expect([frame[0], frame[1]! & 0x80, frame[1]! & 0x7f, frame.readUInt16BE(2)]).toEqual([0x81, 0x80, 126, 300]);
    expect(frame.subarray(4, 8)).toEqual(Buffer.alloc(4));
    expect(frame.toString("latin1", 8)).toBe("x".repeat(300));
  });
});
