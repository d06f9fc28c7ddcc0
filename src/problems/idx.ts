/**
 * IDX files (the MNIST format, http://yann.lecun.com/exdb/mnist/): a big-endian header
 * `0x00 0x00 <type> <ndims>`, then ndims uint32 dimensions, then the data row-major.
 * Only unsigned bytes (type 0x08) are needed for MNIST and supported.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { ProblemError } from './types.js';
import { problemError } from './types.js';

export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array; // a view on the file's buffer
}

export function parseIdx(bytes: Uint8Array, path: string): E.Either<ProblemError, IdxArray> {
  if (bytes.length < 4) return E.left(problemError.parse(path, `IDX file too short (${bytes.length} bytes)`));
  if (bytes[0] !== 0 || bytes[1] !== 0) return E.left(problemError.parse(path, 'not an IDX file (magic number must start with two zero bytes)'));
  const type = bytes[2]!;
  if (type !== 0x08) return E.left(problemError.parse(path, `unsupported IDX element type 0x${type.toString(16).padStart(2, '0')} (only unsigned bytes, 0x08)`));
  const ndims = bytes[3]!;
  const headerLen = 4 + 4 * ndims;
  if (ndims === 0 || bytes.length < headerLen) return E.left(problemError.parse(path, `IDX header declares ${ndims} dimensions but the file has ${bytes.length} bytes`));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let k = 0; k < ndims; k++) dims.push(view.getUint32(4 + 4 * k, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== headerLen + size) {
    return E.left(problemError.parse(path, `IDX dimensions [${dims.join('×')}] need ${size} data bytes, the file has ${bytes.length - headerLen}`));
  }
  return E.right({ dims, data: bytes.subarray(headerLen) });
}
