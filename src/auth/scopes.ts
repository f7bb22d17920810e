/**
 * Scopes of behaviour.md A2: `<verb>:<service>` grants one verb on services matching a name,
 * a prefix ending in `*`, or `*`; `admin` grants everything (reflection included). Pure.
 */

/** What a call does, each verb covering a set of RPCs (rpc/interceptors/authorize.ts). */
export const VERBS = ["register", "health", "select", "report", "watch"] as const;

/** One verb. */
export type Verb = (typeof VERBS)[number];

/** The parsed scopes of one principal. */
export interface Grants {
  readonly admin: boolean;
  /** Per verb: exact names, and prefixes (`""` for `*`). */
  readonly names: ReadonlyMap<Verb, ReadonlySet<string>>;
  readonly prefixes: ReadonlyMap<Verb, readonly string[]>;
}

/** Why a scope string was rejected, or undefined when it is valid. */
export function scopeProblem(scope: string): string | undefined {
  if (scope === "admin") return undefined;
  const colon = scope.indexOf(":");
  const verb = scope.slice(0, colon);
  if (colon < 0 || !(VERBS as readonly string[]).includes(verb))
    return `must be admin or <${VERBS.join("|")}>:<service>`;
  const pattern = scope.slice(colon + 1);
  if (pattern === "") return "names no service (use a name, a prefix ending in *, or *)";
  if (pattern.indexOf("*") !== -1 && pattern.indexOf("*") !== pattern.length - 1)
    return "* may only end the service pattern";
  return undefined;
}

/** Grants of valid scope strings (check them with scopeProblem first). */
export function grantsOf(scopes: readonly string[]): Grants {
  const names = new Map<Verb, Set<string>>();
  const prefixes = new Map<Verb, string[]>();
  let admin = false;
  for (const scope of scopes) {
    if (scope === "admin") {
      admin = true;
      continue;
    }
    const colon = scope.indexOf(":");
    const verb = scope.slice(0, colon) as Verb;
    const pattern = scope.slice(colon + 1);
    if (pattern.endsWith("*")) prefixes.set(verb, [...(prefixes.get(verb) ?? []), pattern.slice(0, -1)]);
    else names.set(verb, (names.get(verb) ?? new Set()).add(pattern));
  }
  return { admin, names, prefixes };
}

/** True when `grants` allow `verb` on `service`; `service` `*` asks for every service. */
export function allows(grants: Grants, verb: Verb, service: string): boolean {
  if (grants.admin) return true;
  const prefixes = grants.prefixes.get(verb) ?? [];
  if (service === "*") return prefixes.includes("");
  if (grants.names.get(verb)?.has(service)) return true;
  return prefixes.some((prefix) => service.startsWith(prefix));
}

/** The scope a call lacks, for the PERMISSION_DENIED message. */
export function scopeFor(verb: Verb, service: string): string {
  return `${verb}:${service}`;
}
