import { claimInstances } from "../../sdk/claims";

describe("one owner per instance within a program", () => {
  it("refuses the second attachment that names an instance, naming both resources and the shared instances", () => {
    expect(claimInstances("p/dev", "web", ["i-a1", "i-a2", "i-a3"])).toBeUndefined();
    expect(claimInstances("p/dev", "db", ["i-b1"])).toBeUndefined();
    const clash = claimInstances("p/dev", "ops", ["i-b2", "i-a2", "i-b1"]);
    expect(clash).toMatch(/^KeyPairAttachment "ops" and "(web|db)" both name 1 instance\(s\): i-(a2|b1)\./);
    expect(clash).toContain("list each instance in one KeyPairAttachment only");
  });

  it("a name registered again (the program run again in the same process) replaces its claim; other stacks do not collide", () => {
    expect(claimInstances("p/stage", "web", ["i-c1"])).toBeUndefined();
    expect(claimInstances("p/stage", "web", ["i-c1", "i-c2"])).toBeUndefined();
    expect(claimInstances("p/prod", "web", ["i-c1"])).toBeUndefined();
    expect(claimInstances("p/stage", "api", ["i-c2"])).toContain('"api" and "web"');
  });
});
