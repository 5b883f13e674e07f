/**
 * The SDK as an editor shows it: every input and every output of KeyPairAttachment carries TSDoc, and
 * KeyPairAttachment.get names every output (a read resolves only the outputs it names).
 */
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";

const file = path.join(__dirname, "../../sdk/index.ts");
const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2020, true);
const docOf = (node: ts.Node) => ts.getJSDocCommentsAndTags(node).map((d) => (typeof d.comment === "string" ? d.comment : "")).join(" ").trim();

let cls: ts.ClassDeclaration | undefined;
let argsType: ts.TypeAliasDeclaration | undefined;
const interfaces = new Map<string, ts.InterfaceDeclaration>();
source.forEachChild((n) => {
  if (ts.isClassDeclaration(n) && n.name?.text === "KeyPairAttachment") cls = n;
  if (ts.isTypeAliasDeclaration(n) && n.name.text === "KeyPairAttachmentArgs") argsType = n;
  if (ts.isInterfaceDeclaration(n)) interfaces.set(n.name.text, n);
});
/** KeyPairAttachmentArgs is common inputs & (by ID | by name): the members of every interface it names. */
const argMembers = () => {
  const named: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isTypeReferenceNode(n) && interfaces.has(n.typeName.getText(source))) named.push(n.typeName.getText(source));
    n.forEachChild(visit);
  };
  visit(argsType!.type);
  return named.flatMap((i) => interfaces.get(i)!.members);
};

const outputs = cls!.members.filter(
  (m): m is ts.PropertyDeclaration => ts.isPropertyDeclaration(m) && !!m.type && m.type.getText(source).startsWith("pulumi.Output<"),
);

it("every output and every input has a TSDoc comment", () => {
  expect(outputs.length).toBeGreaterThanOrEqual(9);
  expect(argMembers().length).toBeGreaterThanOrEqual(11);
  const undocumented = [...outputs, ...argMembers()].filter((m) => docOf(m).length < 10).map((m) => m.name!.getText(source));
  expect(undocumented).toEqual([]);
});

it("KeyPairAttachment.get is documented and its read names every output", () => {
  const get = cls!.members.find((m) => ts.isMethodDeclaration(m) && m.name.getText(source) === "get")!;
  expect(get).toBeDefined();
  expect(docOf(get)).toContain("without managing it");
  let named: string[] | undefined;
  const visit = (n: ts.Node) => {
    if (ts.isVariableDeclaration(n) && n.name.getText(source) === "outputs" && n.initializer && ts.isObjectLiteralExpression(n.initializer)) {
      named = n.initializer.properties.map((p) => p.name!.getText(source));
    }
    n.forEachChild(visit);
  };
  visit(cls!);
  expect(named?.sort()).toEqual(outputs.map((o) => o.name.getText(source)).sort());
});
