import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "../helpers/installed-package";

/**
 * The package as it ships (`npm pack`): the licence package.json names is in the tarball, and the commands the shipped
 * documents give work for someone who has only the tarball: nothing resolves a name we do not own on the public
 * registry, and what needs the repository (tests, npm scripts) says so.
 */
let dir: string;
let files: string[];
let tarball: string;

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, "dist/provider/dynamic.js"))) throw new Error("dist/ is missing: run npm run build first (npm test does)");
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ens-kp-pack-"));
  const out = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" });
  tarball = JSON.parse(out)[0].filename;
  execFileSync("tar", ["xzf", path.join(dir, tarball), "-C", dir]);
  files = execFileSync("tar", ["tzf", path.join(dir, tarball)], { encoding: "utf8" }).trim().split("\n").map((f) => f.replace(/^package\//, ""));
}, 120000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const shipped = (f: string) => fs.readFileSync(path.join(dir, "package", f), "utf8");

it("the tarball ships the Apache-2.0 licence its package.json names", () => {
  expect(files).toContain("LICENSE");
  expect(JSON.parse(shipped("package.json")).license).toBe("Apache-2.0");
  const text = shipped("LICENSE");
  expect(text).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004\s+http:\/\/www\.apache\.org\/licenses\//);
  expect(text).toContain("TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION");
  expect(text).toContain("END OF TERMS AND CONDITIONS");
  expect(text).toContain("Copyright 2026 the pulumi-ens-keypair authors");
});

it("the README and the examples' README run no bare `npx ens-emulator` (that name on the public registry is not ours)", () => {
  const bare = ["README.md", "examples/README.md", "emulator/README.md"].flatMap((f) => shipped(f).split("\n").filter((l) => /npx\s+ens-emulator\b/.test(l)).map((l) => `${f}: ${l.trim()}`));
  expect(bare).toEqual([]);
  expect(shipped("README.md")).toContain("npx -p pulumi-ens-keypair ens-emulator ");
});

it("the README installs the package from the packed tarball, by the name npm pack gives it, until it is published", () => {
  const readme = shipped("README.md");
  expect(readme).not.toMatch(/npm install pulumi-ens-keypair\b/);
  expect(readme).toContain("npm pack");
  expect(readme).toContain(`npm install ./${tarball} @pulumi/pulumi`);
});

it("every README section that cites an npm script or a file the tarball does not ship says it is in the repository", () => {
  const readme = shipped("README.md");
  const sections = readme.split(/\n(?=#{1,3} )/);
  const unshipped = (p: string) => !files.some((f) => f === p || f.startsWith(p.endsWith("/") ? p : `${p}/`));
  const offenders = sections.flatMap((s) => {
    const cites = [
      ...[...s.matchAll(/\bnpm (?:test|start|run [\w:-]+)/g)].map((m) => m[0]),
      ...[...s.matchAll(/`((?:tests|scripts|bench|\.ci)\/[\w./-]*)`/g)].map((m) => m[1]).filter(unshipped),
    ];
    return cites.length && !/\brepository\b/.test(s) ? [`${s.split("\n")[0].slice(0, 40)}: ${[...new Set(cites)].join(", ")}`] : [];
  });
  expect(offenders).toEqual([]);
});
