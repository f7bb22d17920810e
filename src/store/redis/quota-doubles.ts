/** Little-endian doubles, the encoding of every number the quota scripts read or store (quota-scripts.ts). */
import { Buffer } from "node:buffer";

/** `values` as little-endian doubles. */
export function packDoubles(values: readonly number[]): Buffer {
  const buffer = Buffer.allocUnsafe(values.length * 8);
  for (let i = 0; i < values.length; i++) buffer.writeDoubleLE(values[i]!, i * 8);
  return buffer;
}

/** The doubles in `buffer` (none for null). */
export function unpackDoubles(buffer: Buffer | null | undefined): number[] {
  const values: number[] = [];
  if (!buffer) return values;
  for (let offset = 0; offset + 8 <= buffer.length; offset += 8) values.push(buffer.readDoubleLE(offset));
  return values;
}
