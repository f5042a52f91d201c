/** What a person types into a JSON field: parsed, or a message saying where it is not JSON. */
export type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

export function parseJsonField(label: string, text: string, empty: unknown): Parsed {
  if (text.trim() === "") return { ok: true, value: empty };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: `${label} is not JSON: ${(error as Error).message}` };
  }
}
