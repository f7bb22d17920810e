/**
 * The codec's one memory of work already done, for the two hot fan-outs: a backend is
 * encoded once per registration (specs are immutable, replaced on change), and one Watch
 * change is encoded once for every watcher. Keys are held weakly, so an entry lives exactly
 * as long as the object it was built from. One instance per running server (the composition
 * root makes it and hands it to the codec's callers).
 */
export class EncodingCache {
  private readonly messages = new WeakMap<object, object>();
  private readonly wire = new WeakMap<object, Uint8Array>();
  /**
   * The last source and message asked for, with what they gave: a fan-out asks for the same
   * one once per watcher in a row, and this answers without a WeakMap lookup.
   */
  private lastSource: object | undefined;
  private lastBuilt: object | undefined;
  private lastMessage: object | undefined;
  private lastBytes: Uint8Array | undefined;

  /** The message built from `source` by `build`, built on first use. `build` must depend only on `source`. */
  message<S extends object, T extends object>(source: S, build: (source: S) => T): T {
    if (source === this.lastSource) return this.lastBuilt as T;
    let built = this.messages.get(source) as T | undefined;
    if (!built) {
      built = build(source);
      this.messages.set(source, built);
    }
    this.lastSource = source;
    this.lastBuilt = built;
    return built;
  }

  /** The bytes of `message` written by `encode`, encoded on first use. Messages must not change afterwards. */
  bytes<T extends object>(message: T, encode: (message: T) => Uint8Array): Uint8Array {
    if (message === this.lastMessage) return this.lastBytes!;
    let bytes = this.wire.get(message);
    if (!bytes) {
      bytes = encode(message);
      this.wire.set(message, bytes);
    }
    this.lastMessage = message;
    this.lastBytes = bytes;
    return bytes;
  }
}
