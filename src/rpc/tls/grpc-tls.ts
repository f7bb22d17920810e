/**
 * TLS for a grpc-js server (the gRPC and xDS ports) that follows a TlsSource: grpc-js takes
 * rotating certificates through a CertificateProvider (its experimental
 * createCertificateProviderServerCredentials), and applies each update with the listener's
 * setSecureContext, so new connections get the new certificate and open ones keep theirs.
 * The source only hands over material that already loaded, which matters here: grpc-js drops
 * every new connection after an update it cannot apply.
 */
import * as grpc from "@grpc/grpc-js";
import { requiresClientCertificate, type TlsMaterial, type TlsSource } from "./tls-source.js";

type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;
type CaListener = grpc.experimental.CaCertificateUpdateListener;

/** A CertificateProvider (identity and client CA) fed by `source`. */
function providerOf(source: TlsSource): grpc.experimental.CertificateProvider {
  const identities = new Set<IdentityListener>();
  const cas = new Set<CaListener>();
  const identityOf = (m: TlsMaterial) => ({ certificate: m.cert, privateKey: m.key });
  const caOf = (m: TlsMaterial) => (m.clientCa ? { caCertificate: m.clientCa } : null);
  source.onChange((material) => {
    for (const listener of identities) listener(identityOf(material));
    for (const listener of cas) listener(caOf(material));
  });
  // grpc-js registers its watcher after adding these listeners: the first update must come
  // on a later tick (as its own FileWatcherCertificateProvider does) or it would be missed.
  return {
    addIdentityCertificateListener(listener) {
      identities.add(listener);
      process.nextTick(() => listener(identityOf(source.current())));
    },
    removeIdentityCertificateListener: (listener) => identities.delete(listener),
    addCaCertificateListener(listener) {
      cas.add(listener);
      process.nextTick(() => listener(caOf(source.current())));
    },
    removeCaCertificateListener: (listener) => cas.delete(listener),
  };
}

/** Server credentials that serve `source`'s certificate and, with a client CA, require client certificates. */
export function grpcTlsCredentials(source: TlsSource): grpc.ServerCredentials {
  const provider = providerOf(source);
  const mutual = requiresClientCertificate(source);
  // grpc-js 1.14 passes its first argument on as the identity provider and the second as
  // the CA provider (its .d.ts names them the other way round); one provider serves both.
  return grpc.experimental.createCertificateProviderServerCredentials(
    provider,
    mutual ? provider : null,
    mutual,
  );
}
