/**
 * The SDK as a TypeScript user meets it: what the compiler refuses, what the editor strikes through or shows on hover,
 * what `KeyPairAttachment.get` says about an ID it cannot read, and what a run prints for `keyPairName`.
 */
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULTS } from "../../provider/validate";

const ROOT = path.resolve(__dirname, "../..");
const SDK = path.join(ROOT, "sdk/index.ts");
const SNIPPET = path.join(__dirname, "__typings_snippet__.ts");

/** One language service over the SDK and a snippet file that exists only in memory (as an editor has it). */
const snippet = { text: "", version: 0 };
const options: ts.CompilerOptions = { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, strict: true, esModuleInterop: true, skipLibCheck: true, types: ["node"], noEmit: true };
const service = ts.createLanguageService({
  getScriptFileNames: () => [SNIPPET],
  getScriptVersion: (f) => (f === SNIPPET ? String(snippet.version) : "0"),
  getScriptSnapshot: (f) => {
    const text = f === SNIPPET ? snippet.text : fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined;
    return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
  },
  getCurrentDirectory: () => ROOT,
  getCompilationSettings: () => options,
  getDefaultLibFileName: ts.getDefaultLibFilePath,
  fileExists: (f) => f === SNIPPET || ts.sys.fileExists(f),
  readFile: (f) => (f === SNIPPET ? snippet.text : ts.sys.readFile(f)),
  readDirectory: ts.sys.readDirectory,
  directoryExists: ts.sys.directoryExists,
  getDirectories: ts.sys.getDirectories,
});

/** Compiles `body` after the SDK import; returns the compiler's errors and the editor's deprecation marks as text. */
function compile(body: string): { errors: string[]; deprecated: string[] } {
  snippet.text = `import { KeyPairAttachment } from "../../sdk";\nimport * as pulumi from "@pulumi/pulumi";\n${body}\n`;
  snippet.version++;
  const flat = (d: ts.Diagnostic) => ts.flattenDiagnosticMessageText(d.messageText, "\n");
  const errors = service.getSemanticDiagnostics(SNIPPET).concat(service.getSyntacticDiagnostics(SNIPPET)).map(flat);
  const deprecated = service.getSuggestionDiagnostics(SNIPPET).filter((d) => d.reportsDeprecated).map((d) => `${snippet.text.slice(d.start!, d.start! + d.length!)}: ${flat(d)}`);
  return { errors, deprecated };
}

describe("the type of KeyPairAttachment's inputs", () => {
  jest.setTimeout(60000);

  it("takes exactly one of keyPairId and keyPairName", () => {
    expect(compile(`new KeyPairAttachment("a", { keyPairId: "ssh-1", instanceIds: ["i-1"] });`).errors).toEqual([]);
    expect(compile(`new KeyPairAttachment("a", { keyPairName: pulumi.output("k"), instanceIds: ["i-1"] });`).errors).toEqual([]);
    expect(compile(`new KeyPairAttachment("a", { keyPairId: "ssh-1", keyPairName: "k", instanceIds: ["i-1"] });`).errors).not.toEqual([]);
    expect(compile(`new KeyPairAttachment("a", { instanceIds: ["i-1"] });`).errors).not.toEqual([]);
    // A value that may be undefined is not a key pair either.
    expect(compile(`declare const id: string | undefined;\nnew KeyPairAttachment("a", { keyPairId: id, instanceIds: ["i-1"] });`).errors).not.toEqual([]);
  });

  it("marks keyPairName deprecated (struck through in completions, @deprecated on hover, flagged where read), keyPairId not", () => {
    // Completions inside the inputs: the entry editors strike through carries the "deprecated" modifier.
    compile(`new KeyPairAttachment("a", { instanceIds: ["i-1"],  });`);
    const at = snippet.text.indexOf(`"i-1"],`) + 8;
    const entries = service.getCompletionsAtPosition(SNIPPET, at, {})!.entries;
    const modifiers = (name: string) => entries.find((e) => e.name === name)?.kindModifiers?.split(",") ?? [];
    expect(entries.map((e) => e.name)).toEqual(expect.arrayContaining(["keyPairId", "keyPairName", "stopInstances"]));
    expect(modifiers("keyPairName")).toContain("deprecated");
    expect(modifiers("keyPairId")).not.toContain("deprecated");
    // Hover over keyPairName where it is written.
    compile(`new KeyPairAttachment("a", { keyPairName: "k", instanceIds: ["i-1"] });`);
    const info = service.getQuickInfoAtPosition(SNIPPET, snippet.text.indexOf("keyPairName") + 2)!;
    expect(info.kindModifiers.split(",")).toContain("deprecated");
    expect(info.tags?.map((t) => t.name)).toContain("deprecated");
    // Reading it from the args type is flagged like any deprecated API.
    expect(compile(`declare const args: import("../../sdk").KeyPairAttachmentArgs;\nexport const n = args.keyPairName;`).deprecated).toEqual([expect.stringMatching(/^keyPairName: 'keyPairName' is deprecated/)]);
    expect(compile(`declare const args: import("../../sdk").KeyPairAttachmentArgs;\nexport const n = args.keyPairId;`).deprecated).toEqual([]);
  });

  it("every optional input but the key pair states its default with @defaultValue, the provider's own default", () => {
    const { program } = { program: service.getProgram()! };
    const checker = program.getTypeChecker();
    const sdk = program.getSourceFile(SDK)!;
    const alias = sdk.statements.find((s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === "KeyPairAttachmentArgs");
    const type = alias ? checker.getTypeAtLocation(alias.name) : checker.getTypeAtLocation(sdk.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === "KeyPairAttachmentArgs")!.name);
    const props = new Map<string, ts.Symbol>();
    for (const t of type.isUnion() ? type.types : [type]) for (const p of checker.getPropertiesOfType(t)) props.set(p.name, p);
    const defaults: Record<string, string | undefined> = {};
    for (const [name, p] of props) {
      if (name === "keyPairId" || name === "keyPairName" || !(p.flags & ts.SymbolFlags.Optional)) continue;
      const tag = p.getJsDocTags(checker).find((t) => t.name === "defaultValue");
      defaults[name] = tag && ts.displayPartsToString(tag.text).trim();
    }
    expect(Object.keys(defaults).sort()).toEqual(["account", "forceStop", "maxStoppedInstances", "maxStoppedPerRegion", "stopInstances", "stopTimeoutSeconds", "takeOwnership"]);
    for (const [name, value] of Object.entries(DEFAULTS)) expect([name, defaults[name]]).toEqual([name, `\`${JSON.stringify(value)}\``]);
    expect(defaults.takeOwnership).toBe("`false`");
    expect(defaults.maxStoppedPerRegion).toMatch(/no limit/);
    expect(defaults.account).toMatch(/the stack's account/);
  });
});

describe("KeyPairAttachment at run time", () => {
  const { KeyPairAttachment } = require("../../sdk") as typeof import("../../sdk");

  it("get with a malformed ID fails at once, naming the two forms it reads", () => {
    for (const id of ["web", "ssh-abc", "ssh-abc:", "ssh-abc:att-123", "ssh-abc:i-1,,i-2", "i-1,i-2", "ssh-abc:i-1 i-2"]) {
      let thrown: unknown;
      try {
        KeyPairAttachment.get("existing", id);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(Error);
      const message = (thrown as Error).message;
      expect(message).toContain(`KeyPairAttachment.get("existing", ${JSON.stringify(id)})`);
      expect(message).toContain("<keyPairId>:att-<8 hex>");
      expect(message).toContain("<keyPairId>:<instanceId>[,<instanceId>...]");
    }
  });

  it("keyPairName (all pulumi-alicloud's ens.KeyPair gives) prints no deprecation warning on a run", async () => {
    pulumi.runtime.setMocks({ newResource: (a) => ({ id: "ssh-1:att-00000000", state: a.inputs }), call: () => ({}) }, "proj", "stack", false);
    const warn = jest.spyOn(pulumi.log, "warn");
    const a = new KeyPairAttachment("by-name", { keyPairName: "k", instanceIds: ["i-1"] });
    await new Promise<void>((resolve) => a.urn.apply(() => resolve()));
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([]);
    // Well-formed IDs are read (no throw).
    for (const id of ["ssh-abc:att-0123abcd", "ssh-abc:i-1", "ssh-abc:i-1,i-2"]) expect(() => KeyPairAttachment.get(`got-${id}`, id)).not.toThrow();
  });
});
