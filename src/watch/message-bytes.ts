/**
 * About how many bytes a Watch message takes on the wire: the UTF-8 bytes of its strings and
 * keys (label names are keys), 8 per number and 2 per field for tags and lengths; never less
 * than the encoded size by much, and not far over it. Watch queues and history are bounded by
 * this, so a few messages with big labels cannot hold unbounded memory
 * where a count bound would let them. Computed once per event, shared by every watcher.
 */
export function approximateBytes(value: unknown): number {
  switch (typeof value) {
    case "string":
      return Buffer.byteLength(value);
    case "number":
    case "bigint":
      return 8;
    case "boolean":
      return 1;
    case "object":
      return value === null ? 0 : objectBytes(value);
    default:
      return 0;
  }
}

const FIELD_OVERHEAD_BYTES = 2;

function objectBytes(value: object): number {
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  let total = 0;
  for (const [key, item] of entries)
    total += FIELD_OVERHEAD_BYTES + approximateBytes(key) + approximateBytes(item);
  return total;
}
