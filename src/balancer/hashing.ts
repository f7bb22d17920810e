/**
 * 32-bit hashing for the hash strategies (ring hash, Maglev, rendezvous): FNV-1a over the
 * UTF-16 code units of a string, finished with MurmurHash3's fmix32 avalanche so that keys
 * differing in one character land far apart. Stable across processes and versions: a key maps to the
 * same backend on every replica. Derived points (virtual nodes, per-key scores) are one more
 * fmix32 round over already-mixed values. Not for anything secret.
 * Sources: FNV-1a (Fowler, Noll, Vo), MurmurHash3 fmix32 (Austin Appleby, public domain).
 */

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** MurmurHash3's finalizer: a bijection on 32-bit integers with full avalanche. */
export function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of a string as an unsigned 32-bit integer; `seed` gives independent hash functions. */
export function hashString(text: string, seed = 0): number {
  let h = (FNV_OFFSET_BASIS ^ fmix32(seed)) >>> 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h = Math.imul(h ^ (c & 0xff), FNV_PRIME);
    h = Math.imul(h ^ (c >>> 8), FNV_PRIME);
  }
  return fmix32(h ^ text.length);
}

/** `hash` as a uniform float in (0, 1]. */
export function unitInterval(hash: number): number {
  return (hash + 1) / 4294967296;
}
