/** JSONL run logs: one JSON object per line, appended synchronously so an interrupted run keeps its log. */
import * as fs from 'node:fs';

export interface JsonlLog {
  write(record: Record<string, unknown>): void;
  close(): void;
}

/** Opens (truncates) `path`. Throws with the OS message if it cannot be created. */
export function openJsonl(path: string): JsonlLog {
  const fd = fs.openSync(path, 'w');
  let open = true;
  return {
    write: (record) => {
      if (open) fs.writeSync(fd, JSON.stringify(record, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) + '\n');
    },
    close: () => {
      if (open) {
        fs.closeSync(fd);
        open = false;
      }
    },
  };
}
