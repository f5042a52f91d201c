/** Bun's connection errors, and SQLSTATE classes 08 (connection exception) and 57 (shutdown, crash recovery). */
export function isConnectionLoss(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const { code, errno } = e as { code?: unknown; errno?: unknown };
    if (typeof code === "string" && code.startsWith("ERR_POSTGRES_CONNECTION")) return true;
    if (typeof errno === "string" && (errno.startsWith("08") || errno.startsWith("57"))) return true;
  }
  return false;
}

/** Server messages can span lines (DETAIL, HINT); start-up errors and log lines must not. */
export const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, " ");
