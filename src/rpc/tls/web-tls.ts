/**
 * The web port under TLS (behaviour.md A1): a tls.Server that offers `h2` and `http/1.1` by
 * ALPN and hands each connection, once the handshake is done, to the same HTTP/1.1 and HTTP/2
 * servers that serve plaintext (web-listener.ts), so timeouts and shutdown work the same. A
 * newer certificate from the source goes in with setSecureContext: new connections get it,
 * open ones keep theirs. With a client CA, a client without a valid certificate from it fails
 * the handshake.
 */
import type * as net from "node:net";
import * as tls from "node:tls";
import { requiresClientCertificate, secureContextOptions, type TlsSource } from "./tls-source.js";

/** A TLS listener and how to stop following the source. */
export interface TlsListener {
  readonly server: tls.Server;
  stop(): void;
}

/**
 * A TLS listener for `source`; `dispatch` gets each handshaken socket and whether it speaks h2.
 * The handshake must be done within `handshakeTimeoutMs` (the web port's preface timeout).
 */
export function tlsListener(
  source: TlsSource,
  handshakeTimeoutMs: number,
  dispatch: (socket: net.Socket, http2: boolean) => void,
): TlsListener {
  const mutual = requiresClientCertificate(source);
  const server = tls.createServer({
    ...secureContextOptions(source.current()),
    ALPNProtocols: ["h2", "http/1.1"],
    requestCert: mutual,
    rejectUnauthorized: mutual,
    handshakeTimeout: handshakeTimeoutMs,
  });
  server.on("secureConnection", (socket) => {
    socket.on("error", () => socket.destroy());
    dispatch(socket, socket.alpnProtocol === "h2");
  });
  const stop = source.onChange((material) => server.setSecureContext(secureContextOptions(material)));
  return { server, stop };
}
