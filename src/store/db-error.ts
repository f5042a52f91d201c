/**
 * The database's own reason for a failed write. Drizzle's query errors embed every parameter
 * (message bodies included), which must never reach a log line or a client.
 */
export function describeDbError(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
