/** Writes one JSON line to stdout and resolves once it is written: what consume acks after. */
export function printLine(value: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(`${JSON.stringify(value)}\n`, (error) => (error ? reject(error) : resolve()));
  });
}

export const printLines = async (values: unknown[]): Promise<void> => {
  for (const value of values) await printLine(value);
};

/** One line on stderr, prefixed like every message of the executable. */
export const complain = (message: string): void => void process.stderr.write(`pubsub: ${message}\n`);
