import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  classifierFor,
  commandWords,
  createCommandClassifier,
  NNTP_ARTICLE_VERBS,
  NNTP_PER_COMMAND_VERBS,
  NNTP_STATEFUL_VERBS,
} from "../../../src/sessions/command-classifier.js";

const nntp = createCommandClassifier({ statefulCommands: [], modeReaderStateful: false });
const nntpModeReader = createCommandClassifier({ statefulCommands: [], modeReaderStateful: true });

/** The whole default table of command-classifier.ts, row by row: [command, stateful]. */
const DEFAULT_TABLE: readonly [string, boolean][] = [
  ["GROUP misc.test", true],
  ["LISTGROUP", true],
  ["LISTGROUP misc.test 1-100", true],
  ["NEXT", true],
  ["LAST", true],
  ["OVER", true],
  ["OVER 1-100", true],
  ["OVER <a@b>", true],
  ["XOVER 3000-3100", true],
  ["HDR Subject 1-10", true],
  ["HDR Subject <a@b>", true],
  ["XHDR subject 1-10", true],
  ["ARTICLE 3000", true],
  ["ARTICLE 3000-3010", true],
  ["ARTICLE 3000-", true],
  ["ARTICLE", true],
  ["ARTICLE <45223423@example.com>", false],
  ["BODY 12", true],
  ["BODY", true],
  ["BODY <x@y>", false],
  ["HEAD 12", true],
  ["HEAD", true],
  ["HEAD <x@y>", false],
  ["STAT 12", true],
  ["STAT", true],
  ["STAT <x@y>", false],
  ["MODE READER", false],
  ["CAPABILITIES", false],
  ["CAPABILITIES AUTOUPDATE", false],
  ["DATE", false],
  ["HELP", false],
  ["QUIT", false],
  ["LIST", false],
  ["LIST ACTIVE", false],
  ["LIST NEWSGROUPS comp.*", false],
  ["LIST OVERVIEW.FMT", false],
  ["LIST HEADERS", false],
  ["NEWGROUPS 20240101 000000", false],
  ["NEWNEWS * 20240101 000000 GMT", false],
  ["POST", false],
  ["IHAVE <i@have>", false],
  ["AUTHINFO USER fred", false],
  ["AUTHINFO PASS secret", false],
  ["STARTTLS", false],
  ["MODE STREAM", true],
  ["MODE", true],
  ["XPAT Subject 1-10 *foo*", true],
  ["FROBNICATE", true],
  ["", false],
  ["   ", false],
];

describe("P3 command classification, NNTP default table", () => {
  it.each(DEFAULT_TABLE)("P3 %j is stateful: %s", (command, stateful) => {
    expect(nntp.isStateful(command)).toBe(stateful);
  });

  it("P3 the table lists every stateful verb of P3 and every known per-command verb", () => {
    expect(NNTP_STATEFUL_VERBS).toEqual([
      "GROUP",
      "LISTGROUP",
      "NEXT",
      "LAST",
      "OVER",
      "XOVER",
      "HDR",
      "XHDR",
    ]);
    expect(NNTP_ARTICLE_VERBS).toEqual(["ARTICLE", "BODY", "HEAD", "STAT"]);
    for (const verb of NNTP_STATEFUL_VERBS) expect(nntp.isStateful(verb), verb).toBe(true);
    for (const verb of NNTP_PER_COMMAND_VERBS) expect(nntp.isStateful(verb), verb).toBe(false);
  });

  it("P3 MODE READER is per command by default and stateful with modeReaderStateful", () => {
    expect(nntp.isStateful("MODE READER")).toBe(false);
    expect(nntpModeReader.isStateful("MODE READER")).toBe(true);
    expect(nntpModeReader.isStateful("mode reader")).toBe(true);
    // The flag moves MODE READER only.
    for (const [command, stateful] of DEFAULT_TABLE) {
      if (command !== "MODE READER") expect(nntpModeReader.isStateful(command), command).toBe(stateful);
    }
  });

  it("P3 verbs and arguments match case-insensitively, with any whitespace", () => {
    expect(nntp.isStateful("group misc.test")).toBe(true);
    expect(nntp.isStateful("Article <Mixed@Case>")).toBe(false);
    expect(nntp.isStateful("  list\tactive  ")).toBe(false);
    expect(nntp.isStateful("article\t42\r\n")).toBe(true);
    expect(commandWords("  a  b\tc ")).toEqual(["A", "B", "C"]);
  });

  test.prop([fc.constantFrom(...NNTP_ARTICLE_VERBS), fc.nat(), fc.option(fc.nat(), { nil: undefined })])(
    "P3 ARTICLE/BODY/HEAD/STAT by any number or range is stateful",
    (verb, from, to) => {
      const arg = to === undefined ? `${from}` : `${from}-${to}`;
      expect(nntp.isStateful(`${verb} ${arg}`)).toBe(true);
    },
  );

  test.prop([
    fc.constantFrom(...NNTP_ARTICLE_VERBS),
    fc.stringMatching(/^[A-Za-z0-9.$%]{1,20}@[A-Za-z0-9.]{1,20}$/),
  ])("P3 ARTICLE/BODY/HEAD/STAT by any message-id is per command", (verb, id) => {
    expect(nntp.isStateful(`${verb.toLowerCase()} <${id}>`)).toBe(false);
  });

  test.prop([fc.stringMatching(/^[A-Z]{1,12}$/)])("P3 unknown verbs are stateful", (verb) => {
    const known = [...NNTP_STATEFUL_VERBS, ...NNTP_ARTICLE_VERBS, ...NNTP_PER_COMMAND_VERBS, "MODE"];
    fc.pre(!known.includes(verb));
    expect(nntp.isStateful(verb)).toBe(true);
  });
});

describe("P3 a service's own stateful command list", () => {
  const own = createCommandClassifier({
    statefulCommands: ["SELECT", "mode reader", "ARTICLE #", "LIST ACTIVE"],
    modeReaderStateful: false,
  });

  it("P3 replaces the default: only the listed commands are stateful", () => {
    expect(own.isStateful("SELECT db1")).toBe(true);
    expect(own.isStateful("select")).toBe(true);
    expect(own.isStateful("GROUP misc.test")).toBe(false);
    expect(own.isStateful("FROBNICATE")).toBe(false);
    expect(own.isStateful("")).toBe(false);
  });

  it("P3 entries with arguments match the command's first arguments, case-insensitively", () => {
    expect(own.isStateful("MODE READER")).toBe(true);
    expect(own.isStateful("MODE STREAM")).toBe(false);
    expect(own.isStateful("MODE")).toBe(false);
    expect(own.isStateful("list active comp.*")).toBe(true);
    expect(own.isStateful("LIST NEWSGROUPS")).toBe(false);
    expect(own.isStateful("LIST")).toBe(false);
  });

  it("P3 the # argument means by number (number, range, none), not a message-id", () => {
    expect(own.isStateful("ARTICLE 12")).toBe(true);
    expect(own.isStateful("ARTICLE 12-20")).toBe(true);
    expect(own.isStateful("ARTICLE")).toBe(true);
    expect(own.isStateful("ARTICLE <a@b>")).toBe(false);
  });

  it("P3 modeReaderStateful places MODE READER in the default table only", () => {
    const listed = createCommandClassifier({ statefulCommands: ["GROUP"], modeReaderStateful: true });
    expect(listed.isStateful("MODE READER")).toBe(false);
  });

  it("P3 classifierFor builds once per policy object", () => {
    const policy = { statefulCommands: ["X"], modeReaderStateful: false };
    expect(classifierFor(policy)).toBe(classifierFor(policy));
    expect(classifierFor(policy)).not.toBe(classifierFor({ ...policy }));
  });
});
