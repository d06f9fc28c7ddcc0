/** JSONL run logs on disk (Node): one JSON object per line, appended synchronously so an interrupted run keeps its log. */
import * as fs from 'node:fs';
import { jsonlLine, type JsonlLog } from './jsonl.js';

export type { JsonlLog } from './jsonl.js';

/** Opens (truncates) `path`. Throws with the OS message if it cannot be created. */
export function openJsonl(path: string): JsonlLog {
  const fd = fs.openSync(path, 'w');
  let open = true;
  return {
    write: (record) => {
      if (open) fs.writeSync(fd, jsonlLine(record));
    },
    close: () => {
      if (open) {
        fs.closeSync(fd);
        open = false;
      }
    },
  };
}
