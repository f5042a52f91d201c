import { brokerError, ErrorCodes, type BrokerError } from "./errors.ts";

/** AMQP 0-9-1 carries names as a shortstr (one length byte), so 255 bytes is the most a peer can send. */
export const MAX_NAME_BYTES = 255;
/** Routing keys and binding keys are shortstr on the AMQP wire too. */
export const MAX_ROUTING_KEY_BYTES = 255;

/** UTF-8 length without allocating; a lone surrogate counts 3, as TextEncoder encodes it as U+FFFD. */
export const utf8ByteLength = (s: string): number => {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (isHighSurrogate(unit) && isLowSurrogate(s.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
};

const isHighSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff;

// C0 controls, DEL and C1 controls: invisible in logs and UIs, so a name could hide or spoof another.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const hex = (s: string, at: number): string =>
  `U+${s.charCodeAt(at).toString(16).toUpperCase().padStart(4, "0")}`;

/** Null when `name` may name an exchange or queue; otherwise an INVALID_NAME error saying why. */
export const validateName = (kind: "exchange" | "queue", name: unknown): BrokerError | null => {
  const invalid = (why: string) => brokerError(ErrorCodes.INVALID_NAME, `${kind} name ${why}`);
  if (typeof name !== "string") return invalid(`must be a string, got ${describeType(name)}`);
  const bytes = utf8ByteLength(name);
  if (bytes < 1 || bytes > MAX_NAME_BYTES) {
    return invalid(`must be 1 to ${MAX_NAME_BYTES} bytes of UTF-8, got ${bytes}`);
  }
  const surrogate = LONE_SURROGATE.exec(name);
  if (surrogate) return invalid(`must be valid Unicode: lone surrogate ${hex(name, surrogate.index)} at index ${surrogate.index}`);
  const control = CONTROL.exec(name);
  if (control) return invalid(`must be printable: control character ${hex(name, control.index)} at index ${control.index}`);
  return null;
};

/** Null when `key` can be a message's routing key: any string, "" included, of at most 255 bytes. */
export const validateRoutingKey = (key: unknown): BrokerError | null =>
  keyProblem(key, (why) => brokerError(ErrorCodes.VALIDATION, `routing key ${why}`));

/** The same rule for a binding's key or pattern, reported as an invalid binding (B002). */
export const validateBindingKey = (key: unknown): BrokerError | null =>
  keyProblem(key, (why) => brokerError(ErrorCodes.BINDING_INVALID, `binding key ${why}`));

const keyProblem = (key: unknown, invalid: (why: string) => BrokerError): BrokerError | null => {
  if (typeof key !== "string") return invalid(`must be a string, got ${describeType(key)}`);
  const bytes = utf8ByteLength(key);
  if (bytes > MAX_ROUTING_KEY_BYTES) {
    return invalid(`must be at most ${MAX_ROUTING_KEY_BYTES} bytes of UTF-8, got ${bytes}`);
  }
  return null;
};

const describeType = (x: unknown): string =>
  x === null ? "null" : Array.isArray(x) ? "array" : typeof x;
