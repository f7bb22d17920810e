/**
 * Command classification (behaviour.md P3): is the command a Select carries stateful, that
 * is, does it depend on or change state the backend keeps for the client connection (the
 * selected newsgroup, the current article pointer)? A stateful command switches a HYBRID
 * session to STATEFUL and is rejected by a PER_COMMAND service.
 *
 * Matching is on words split by whitespace, case-insensitively; the verb always matters,
 * arguments only where a rule names them. An empty command (a Select without one) is never
 * stateful.
 *
 * ## The default table: NNTP (RFC 3977, RFC 4642, RFC 4643, RFC 2980 for the X commands)
 *
 * | Command                                         | Class       | Why                                   |
 * |-------------------------------------------------|-------------|---------------------------------------|
 * | GROUP                                           | stateful    | selects the current newsgroup         |
 * | LISTGROUP                                       | stateful    | selects the group, sets the article   |
 * | NEXT, LAST                                      | stateful    | move the current article pointer      |
 * | OVER, XOVER                                     | stateful    | ranges over the current group         |
 * | HDR, XHDR                                       | stateful    | ranges over the current group         |
 * | ARTICLE, BODY, HEAD, STAT `n` or `n-m` or `n-`  | stateful    | an article number in the current group|
 * | ARTICLE, BODY, HEAD, STAT (no argument)         | stateful    | the current article                   |
 * | ARTICLE, BODY, HEAD, STAT `<message-id>`        | per command | a message-id is global                |
 * | MODE READER                                     | per command | stateful when `modeReaderStateful`    |
 * | CAPABILITIES, DATE, HELP, QUIT                  | per command | no group state                        |
 * | LIST (any keyword), NEWGROUPS, NEWNEWS          | per command | server-wide listings                  |
 * | POST, IHAVE                                     | per command | whole articles, no group state        |
 * | AUTHINFO (any), STARTTLS                        | per command | the proxy owns its backend connections|
 * | anything else (MODE STREAM, XPAT, typos, ...)   | stateful    | unknown commands are stateful         |
 *
 * OVER, XOVER, HDR and XHDR are stateful whatever their argument, as P3 lists them.
 * ARTICLE-family arguments other than a message-id (junk included) count as "by number".
 *
 * ## A service's own list (`statefulCommands` non-empty) replaces the table
 * Then exactly the listed commands are stateful and everything else is per command
 * (`modeReaderStateful` applies to the default table only). An entry is a verb optionally
 * followed by argument words that must match the command's first arguments: `GROUP`,
 * `MODE READER`, `LIST ACTIVE`. The argument word `#` matches what the default table calls
 * "by number": a number, a number range, no argument, anything but a message-id
 * (`ARTICLE #`).
 */
import type { SessionPolicy } from "../model/specs.js";

/** Classifies commands for one service's policy; build once per policy (see `classifierFor`). */
export interface CommandClassifier {
  /** True when `command` is stateful under the policy this classifier was built from. */
  isStateful(command: string): boolean;
}

/** The always-stateful verbs of the default table (P3). */
export const NNTP_STATEFUL_VERBS: readonly string[] = [
  "GROUP",
  "LISTGROUP",
  "NEXT",
  "LAST",
  "OVER",
  "XOVER",
  "HDR",
  "XHDR",
];

/** Verbs that are stateful by article number and per command by message-id (P3). */
export const NNTP_ARTICLE_VERBS: readonly string[] = ["ARTICLE", "BODY", "HEAD", "STAT"];

/** Verbs the default table knows to be per command, whatever their arguments. */
export const NNTP_PER_COMMAND_VERBS: readonly string[] = [
  "CAPABILITIES",
  "DATE",
  "HELP",
  "QUIT",
  "LIST",
  "NEWGROUPS",
  "NEWNEWS",
  "POST",
  "IHAVE",
  "AUTHINFO",
  "STARTTLS",
];

const STATEFUL = new Set(NNTP_STATEFUL_VERBS);
const ARTICLE = new Set(NNTP_ARTICLE_VERBS);
const PER_COMMAND = new Set(NNTP_PER_COMMAND_VERBS);
const WHITESPACE = /\s+/;

/** Upper-cased words of a command; empty for a blank one. */
export function commandWords(command: string): string[] {
  const trimmed = command.trim();
  return trimmed === "" ? [] : trimmed.toUpperCase().split(WHITESPACE);
}

/** True when `arg` is an NNTP message-id (`<...>`). */
export function isMessageId(arg: string | undefined): boolean {
  return arg !== undefined && arg.length > 2 && arg.startsWith("<") && arg.endsWith(">");
}

/** True for "by number": no argument, a number, a range, or anything else but a message-id. */
function byNumber(arg: string | undefined): boolean {
  return !isMessageId(arg);
}

function defaultIsStateful(words: readonly string[], modeReaderStateful: boolean): boolean {
  const [verb, first] = words;
  if (verb === undefined) return false;
  if (STATEFUL.has(verb)) return true;
  if (ARTICLE.has(verb)) return byNumber(first);
  if (verb === "MODE" && first === "READER") return modeReaderStateful;
  return !PER_COMMAND.has(verb);
}

/** One entry of a service's own list, parsed. */
interface Rule {
  readonly words: readonly string[];
}

function matchesRule(rule: Rule, words: readonly string[]): boolean {
  for (let i = 0; i < rule.words.length; i++) {
    const want = rule.words[i];
    const got = words[i];
    if (want === "#" && i > 0 ? !byNumber(got) : want !== got) return false;
  }
  return true;
}

function customClassifier(entries: readonly string[]): CommandClassifier {
  const byVerb = new Map<string, Rule[]>();
  for (const entry of entries) {
    const words = commandWords(entry);
    const verb = words[0];
    if (verb === undefined) continue;
    const rules = byVerb.get(verb) ?? [];
    rules.push({ words });
    byVerb.set(verb, rules);
  }
  return {
    isStateful(command) {
      const words = commandWords(command);
      const rules = words[0] === undefined ? undefined : byVerb.get(words[0]);
      return rules?.some((rule) => matchesRule(rule, words)) ?? false;
    },
  };
}

/**
 * A classifier for `policy`: the NNTP default table when `statefulCommands` is empty (with
 * MODE READER placed by `modeReaderStateful`), else exactly the listed commands.
 */
export function createCommandClassifier(
  policy: Pick<SessionPolicy, "statefulCommands" | "modeReaderStateful">,
): CommandClassifier {
  if (policy.statefulCommands.length > 0) return customClassifier(policy.statefulCommands);
  const modeReader = policy.modeReaderStateful;
  return { isStateful: (command) => defaultIsStateful(commandWords(command), modeReader) };
}

const cache = new WeakMap<object, CommandClassifier>();

/**
 * The classifier of `policy`, built on first use and kept as long as the policy object lives
 * (resolved policies are immutable, so a snapshot rebuild with a new config gets a new one).
 */
export function classifierFor(
  policy: Pick<SessionPolicy, "statefulCommands" | "modeReaderStateful">,
): CommandClassifier {
  let classifier = cache.get(policy);
  if (!classifier) {
    classifier = createCommandClassifier(policy);
    cache.set(policy, classifier);
  }
  return classifier;
}
