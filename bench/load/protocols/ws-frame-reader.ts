/**
 * Reads server-to-client WebSocket frames from a byte stream and counts complete messages
 * without decoding them. Keeps the first message's bytes (so a run can check what arrived), hands
 * control frames (ping, pong, close) to the caller and, when asked, every message's payload bytes.
 */

/** The longest first message kept for checking. */
const FIRST_MESSAGE_KEEP_BYTES = 2048;
const OPCODE_CONTINUATION = 0x0;
/** Opcodes 0x8 and up are control frames. */
const FIRST_CONTROL_OPCODE = 0x8;

/**
 * Gets each complete text or binary message. The bytes are only valid during the call (they may
 * be a view into the runtime's read buffer): copy what is kept.
 */
export type MessageListener = (payload: Buffer) => void;

/** Owns the parsing state of one connection's incoming stream. */
export class WsFrameReader {
  /** Header bytes of a frame split across reads. */
  private partialHeader: Buffer | null = null;
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  private frameOpcode = 0;
  private frameFin = false;
  private messageOpcode = 0;
  private kept: Buffer[] | null = null;

  /** Complete text or binary messages read so far. */
  messages = 0;
  firstMessage: string | null = null;
  onMessage: MessageListener | null = null;
  /**
   * pubsub's batched deliveries [BATCH-1]: a MESSAGES frame counts as the `count` messages it holds,
   * read from its fixed prefix (the rest is not parsed).
   */
  countBatches = false;

  constructor(private readonly onControl: (opcode: number, payload: Buffer) => void) {}

  feed(chunk: Buffer): void {
    if (this.partialHeader) {
      chunk = Buffer.concat([this.partialHeader, chunk]);
      this.partialHeader = null;
    }
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - at);
        this.kept?.push(Buffer.from(chunk.subarray(at, at + take)));
        at += take;
        this.remaining -= take;
        if (this.remaining === 0) this.endFrame(null);
        continue;
      }
      const headerLength = frameHeaderLength(chunk, at);
      if (headerLength === null) break;
      const lengthCode = chunk[at + 1]! & 0x7f;
      const length =
        lengthCode === 126 ? chunk.readUInt16BE(at + 2) : lengthCode === 127 ? Number(chunk.readBigUInt64BE(at + 2)) : lengthCode;
      this.frameFin = (chunk[at]! & 0x80) !== 0;
      this.frameOpcode = chunk[at]! & 0x0f;
      at += headerLength;
      const data = this.frameOpcode < FIRST_CONTROL_OPCODE;
      if (this.frameOpcode !== OPCODE_CONTINUATION && data) this.messageOpcode = this.frameOpcode;
      // The common case: an unfragmented data frame wholly inside this chunk, handed over as a view.
      if (data && this.frameFin && this.frameOpcode !== OPCODE_CONTINUATION && chunk.length - at >= length) {
        this.endFrame(chunk.subarray(at, at + length));
        at += length;
        continue;
      }
      if (!data) this.kept = [];
      else if (this.frameOpcode !== OPCODE_CONTINUATION) {
        const keep = this.onMessage !== null || this.countBatches || (this.firstMessage === null && length <= FIRST_MESSAGE_KEEP_BYTES);
        this.kept = keep ? [] : null;
      } // A continuation adds to whatever its message keeps.
      this.remaining = length;
      if (length === 0) this.endFrame(null);
    }
    if (at < chunk.length) this.partialHeader = Buffer.from(chunk.subarray(at));
  }

  private endFrame(whole: Buffer | null): void {
    if (this.frameOpcode >= FIRST_CONTROL_OPCODE) {
      const payload = this.kept ? Buffer.concat(this.kept) : Buffer.alloc(0);
      this.kept = null;
      this.onControl(this.frameOpcode, payload);
      return;
    }
    if (!this.frameFin || this.messageOpcode === 0) return;
    const payload = whole ?? (this.kept ? (this.kept.length === 1 ? this.kept[0]! : Buffer.concat(this.kept)) : null);
    this.kept = null;
    this.messages += this.countBatches && payload ? batchCount(payload) : 1;
    if (this.firstMessage === null && payload && payload.length <= FIRST_MESSAGE_KEEP_BYTES) {
      this.firstMessage = payload.toString("utf8");
    }
    if (this.onMessage && payload) this.onMessage(payload);
  }
}

const BATCH_PREFIX = Buffer.from('{"type":"MESSAGES","count":');

/** The messages a MESSAGES frame holds (its `count`, right after the prefix), or 1 for any other frame. */
export function batchCount(payload: Buffer): number {
  if (payload.length <= BATCH_PREFIX.length || payload.compare(BATCH_PREFIX, 0, BATCH_PREFIX.length, 0, BATCH_PREFIX.length) !== 0) return 1;
  let count = 0;
  for (let at = BATCH_PREFIX.length; at < payload.length; at++) {
    const digit = payload[at]! - 48;
    if (digit < 0 || digit > 9) break;
    count = count * 10 + digit;
  }
  return count;
}

/** The header's length if all of it is in `chunk` from `at`, else null. */
function frameHeaderLength(chunk: Buffer, at: number): number | null {
  if (chunk.length - at < 2) return null;
  const lengthCode = chunk[at + 1]! & 0x7f;
  const masked = (chunk[at + 1]! & 0x80) !== 0;
  const length = 2 + (lengthCode === 126 ? 2 : lengthCode === 127 ? 8 : 0) + (masked ? 4 : 0);
  return chunk.length - at >= length ? length : null;
}
