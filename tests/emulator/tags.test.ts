/** TagResources / UntagResources / ListTagResources for ResourceType "instance", both signature styles. */
import { RunningEmulator, startEmulator } from "../../emulator";
import { SIGNATURE_STYLES, call, callErr, emuClient } from "../helpers/emu-raw-client";

const id = (n: number) => `i-emu${String(n).padStart(8, "0")}`;

describe.each(SIGNATURE_STYLES)("tags, signature style %s", (_label, signatureAlgorithm) => {
  let emu: RunningEmulator;
  const c = () => emuClient(emu, { signatureAlgorithm });
  const tagsOf = (instanceId: string) => emu.state().instances.find((i) => i.instanceId === instanceId)!.tags;
  beforeEach(async () => {
    emu = await startEmulator({ instances: 60 });
  });
  afterEach(() => emu.close());

  test("TagResources (ResourceId.N, Tag.N.Key/Value) adds and overwrites; DescribeInstances does not return tags", async () => {
    expect(
      await call(c(), "TagResources", {
        ResourceType: "instance",
        ResourceId: [id(1), id(2)],
        Tag: [{ Key: "owner", Value: "team-a" }, { Key: "mark", Value: "" }],
      }),
    ).toEqual({ RequestId: expect.any(String) });
    await call(c(), "TagResources", { ResourceType: "instance", ResourceId: [id(1)], Tag: [{ Key: "owner", Value: "team-b" }] });
    expect(tagsOf(id(1))).toEqual({ owner: "team-b", mark: "" });
    expect(tagsOf(id(2))).toEqual({ owner: "team-a", mark: "" });
    const d = await call(c(), "DescribeInstances", { InstanceId: id(1) });
    expect(d.Instances.Instance[0]).not.toHaveProperty("Tags"); // "This operation does not return tag information."
  });

  test("ListTagResources: by ResourceId, by Tag filter, and paged with NextToken", async () => {
    await call(c(), "TagResources", { ResourceType: "instance", ResourceId: [id(1)], Tag: [{ Key: "a", Value: "1" }, { Key: "b", Value: "2" }] });
    await call(c(), "TagResources", { ResourceType: "instance", ResourceId: [id(2)], Tag: [{ Key: "a", Value: "9" }] });
    const one = await call(c(), "ListTagResources", { ResourceType: "instance", ResourceId: [id(1)] });
    expect(one).toEqual({
      RequestId: expect.any(String),
      TagResources: [
        { ResourceId: id(1), ResourceType: "instance", TagKey: "a", TagValue: "1" },
        { ResourceId: id(1), ResourceType: "instance", TagKey: "b", TagValue: "2" },
      ],
    });
    const filtered = await call(c(), "ListTagResources", { ResourceType: "instance", Tag: [{ Key: "a", Value: "9" }] });
    expect(filtered.TagResources).toEqual([{ ResourceId: id(2), ResourceType: "instance", TagKey: "a", TagValue: "9" }]);
    const byKey = await call(c(), "ListTagResources", { ResourceType: "instance", Tag: [{ Key: "a" }] });
    expect(new Set(byKey.TagResources.map((t: any) => t.ResourceId))).toEqual(new Set([id(1), id(2)]));

    const ids = Array.from({ length: 50 }, (_, i) => id(i + 3));
    await call(c(), "TagResources", { ResourceType: "instance", ResourceId: ids, Tag: [{ Key: "x", Value: "1" }, { Key: "y", Value: "2" }] });
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await call(c(), "ListTagResources", { ResourceType: "instance", Tag: [{ Key: "x" }], ...(token ? { NextToken: token } : {}) });
      seen.push(...page.TagResources.map((t: any) => `${t.ResourceId}/${t.TagKey}`));
      token = page.NextToken;
      pages++;
    } while (token);
    expect(pages).toBe(2);
    expect(seen).toHaveLength(100);
    expect(new Set(seen).size).toBe(100);
    expect((await callErr(c(), "ListTagResources", { ResourceType: "instance", NextToken: "garbage" })).code).toBe("InvalidParameter.NextToken");
  });

  test("UntagResources: TagKey.N removes keys, All=true removes everything", async () => {
    await call(c(), "TagResources", { ResourceType: "instance", ResourceId: [id(1), id(2)], Tag: [{ Key: "a", Value: "1" }, { Key: "b", Value: "2" }] });
    expect(await call(c(), "UntagResources", { ResourceType: "instance", ResourceId: [id(1)], TagKey: ["a"] })).toEqual({ RequestId: expect.any(String) });
    expect(tagsOf(id(1))).toEqual({ b: "2" });
    await call(c(), "UntagResources", { ResourceType: "instance", ResourceId: [id(2)], All: true });
    expect(tagsOf(id(2))).toEqual({});
    await call(c(), "UntagResources", { ResourceType: "instance", ResourceId: [id(1)] }); // neither: no-op
    expect(tagsOf(id(1))).toEqual({ b: "2" });
  });

  test("rules: ResourceType, unknown resource (all or nothing), limits, key/value text", async () => {
    const cases: [string, Record<string, unknown>, number, string][] = [
      ["TagResources", { ResourceId: [id(1)], Tag: [{ Key: "k", Value: "v" }] }, 400, "MissingParameter"],
      ["TagResources", { ResourceType: "disk", ResourceId: [id(1)], Tag: [{ Key: "k", Value: "v" }] }, 400, "InvalidParameter.ResourceType"],
      ["TagResources", { ResourceType: "instance", Tag: [{ Key: "k", Value: "v" }] }, 400, "MissingParameter"],
      ["TagResources", { ResourceType: "instance", ResourceId: [id(1)] }, 400, "MissingParameter"],
      ["TagResources", { ResourceType: "instance", ResourceId: [id(1), "i-nope"], Tag: [{ Key: "k", Value: "v" }] }, 404, "InvalidResourceId.NotFound"],
      ["TagResources", { ResourceType: "instance", ResourceId: [id(1)], Tag: [{ Key: "aliyun-x", Value: "v" }] }, 400, "InvalidParameter.Tag.1.Key"],
      ["TagResources", { ResourceType: "instance", ResourceId: [id(1)], Tag: [{ Key: "k", Value: "see http://x" }] }, 400, "InvalidParameter.Tag.1.Value"],
      ["TagResources", { ResourceType: "instance", ResourceId: [id(1)], Tag: [{ Key: "k".repeat(129), Value: "v" }] }, 400, "InvalidParameter.Tag.1.Key"],
      ["TagResources", { ResourceType: "instance", ResourceId: Array.from({ length: 51 }, (_, i) => id(i + 1)), Tag: [{ Key: "k", Value: "v" }] }, 400, "InvalidParameter.ResourceId"],
      ["TagResources", { ResourceType: "instance", ResourceId: [id(1)], Tag: Array.from({ length: 21 }, (_, i) => ({ Key: `k${i}`, Value: "v" })) }, 400, "InvalidParameter.Tag"],
      ["UntagResources", { ResourceType: "instance", ResourceId: ["i-nope"], TagKey: ["k"] }, 404, "InvalidResourceId.NotFound"],
      ["UntagResources", { ResourceType: "instance", ResourceId: [id(1)], All: "maybe" }, 400, "InvalidParameter.All"],
      ["ListTagResources", {}, 400, "MissingParameter"],
    ];
    for (const [action, q, status, code] of cases) {
      const e = await callErr(c(), action, q);
      expect([action, JSON.stringify(q).slice(0, 50), e.statusCode, e.code]).toEqual([action, JSON.stringify(q).slice(0, 50), status, code]);
    }
    expect(tagsOf(id(1))).toEqual({}); // the failed all-or-nothing call tagged nothing
  });

  test("more than 20 tags on one resource -> InvalidParameter.TagCount, nothing applied", async () => {
    const twelve = (p: string) => Array.from({ length: 12 }, (_, i) => ({ Key: `${p}${i}`, Value: "v" }));
    await call(c(), "TagResources", { ResourceType: "instance", ResourceId: [id(1)], Tag: twelve("a") });
    const e = await callErr(c(), "TagResources", { ResourceType: "instance", ResourceId: [id(2), id(1)], Tag: twelve("b") });
    expect([e.statusCode, e.code]).toEqual([400, "InvalidParameter.TagCount"]);
    expect(tagsOf(id(2))).toEqual({});
  });
});
