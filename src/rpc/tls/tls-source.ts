/**
 * What the three ports need to serve TLS (behaviour.md A1): the current certificate, key and
 * client CA, already checked, and news of a newer set. The composition root reads and watches
 * the files (app/tls-files.ts); the servers only ever see material that loaded cleanly, so a
 * bad file during rotation never reaches a listener.
 */

/** One checked set of TLS files, as PEM bytes. */
export interface TlsMaterial {
  /** Certificate chain the ports present, leaf first. */
  readonly cert: Buffer;
  readonly key: Buffer;
  /** CA bundle that signs client certificates; set, every client must present one (mTLS). */
  readonly clientCa?: Buffer | undefined;
}

/** The live TLS material of the process. */
export interface TlsSource {
  current(): TlsMaterial;
  /** Calls `listener` with every newer set that loaded cleanly; returns the unsubscribe. */
  onChange(listener: (material: TlsMaterial) => void): () => void;
}

/** True when the ports must ask for, and verify, a client certificate. */
export function requiresClientCertificate(source: TlsSource): boolean {
  return source.current().clientCa !== undefined;
}

/** Node's secure-context options for `material`. */
export function secureContextOptions(material: TlsMaterial): {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
} {
  return { cert: material.cert, key: material.key, ...(material.clientCa && { ca: material.clientCa }) };
}
