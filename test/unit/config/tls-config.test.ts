import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../src/config/load-config.js";

/** The message loadConfig throws for `env`. */
function problem(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig({ env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("the configuration was accepted");
}

describe("tls.* settings (A1, O3)", () => {
  it("A1: FULCRUM_TLS_* set tls.certFile, tls.keyFile and tls.clientCaFile; unset is plaintext", () => {
    expect(loadConfig().tls).toEqual({});
    const config = loadConfig({
      env: {
        FULCRUM_TLS_CERT_FILE: "/etc/fulcrum/server.pem",
        FULCRUM_TLS_KEY_FILE: "/etc/fulcrum/server.key",
        FULCRUM_TLS_CLIENT_CA_FILE: "/etc/fulcrum/clients.pem",
      },
    });
    expect(config.tls).toEqual({
      certFile: "/etc/fulcrum/server.pem",
      keyFile: "/etc/fulcrum/server.key",
      clientCaFile: "/etc/fulcrum/clients.pem",
    });
  });

  it("O3: a certificate without its key, or a client CA without a certificate, names the missing setting", () => {
    expect(problem({ FULCRUM_TLS_CERT_FILE: "/x.pem" })).toContain(
      "tls.keyFile: set tls.certFile and tls.keyFile together",
    );
    expect(problem({ FULCRUM_TLS_CLIENT_CA_FILE: "/ca.pem" })).toContain(
      "tls.clientCaFile: mutual TLS needs tls.certFile and tls.keyFile too",
    );
  });
});
