/** A parsed `host:port`. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

/**
 * Parses `host:port` (IPv6 hosts in brackets: `[::1]:80`). Returns a reason string when the
 * address is malformed, so the caller can name the field.
 */
export function parseHostPort(address: string): HostPort | string {
  const colon = address.lastIndexOf(":");
  if (colon <= 0) return `must be host:port, got ${JSON.stringify(address)}`;
  const rawHost = address.slice(0, colon);
  const rawPort = address.slice(colon + 1);
  if (!/^\d{1,5}$/.test(rawPort))
    return `port must be a number from 1 to 65535, got ${JSON.stringify(rawPort)}`;
  const port = Number(rawPort);
  if (port < 1 || port > 65_535) return `port must be from 1 to 65535, got ${port}`;
  if (rawHost.startsWith("[")) {
    const inner = rawHost.endsWith("]") ? rawHost.slice(1, -1) : "";
    if (!inner.includes(":") || !IPV6.test(inner)) return `malformed IPv6 host ${JSON.stringify(rawHost)}`;
    return { host: inner, port };
  }
  if (rawHost.includes(":")) return `IPv6 hosts need brackets, e.g. [::1]:${port}`;
  if (!IPV4.test(rawHost) && !HOSTNAME.test(rawHost)) return `malformed host ${JSON.stringify(rawHost)}`;
  return { host: rawHost, port };
}
