/** The run log's record sink and line format (portable: no file system here; src/train/log.ts writes files). */

export interface JsonlLog {
  write(record: Record<string, unknown>): void;
  close(): void;
}

/** One JSONL line: the record as JSON, with non-finite numbers as strings ("NaN", "Infinity"). */
export const jsonlLine = (record: Record<string, unknown>): string =>
  JSON.stringify(record, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) + '\n';
