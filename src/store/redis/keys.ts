/**
 * Key names. Everything of one service shares the hash tag `{s:<service>}` and so one
 * cluster slot, which lets a Lua script touch all of it atomically (C13). Service names
 * cannot contain braces (registry/resolve-backends.ts), so the tag is always the name.
 */

/** Keys of one service under `prefix`. */
export function serviceKeys(prefix: string, service: string) {
  const tag = `${prefix}:{s:${service}}`;
  return { definition: `${tag}:def`, version: `${tag}:ver` };
}

/** The SCAN pattern that finds every service definition. */
export function definitionPattern(prefix: string): string {
  return `${prefix}:{s:*}:def`;
}

/** Pub/sub channels. */
export function channels(prefix: string) {
  return { registry: `${prefix}:registry`, leases: `${prefix}:leases`, invalidation: `${prefix}:invalidate` };
}
