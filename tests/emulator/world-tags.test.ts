/** world.setInstanceTags: tags set out of band, as a person does in the console (used by the soak's `hand` step). */
import { RunningEmulator, startEmulator } from "../../emulator";
import { call, emuClient } from "../helpers/emu-raw-client";

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ instances: 2 });
});
afterAll(() => emu.close());

const tagsOf = (id: string) => emu.state().instances.find((i) => i.instanceId === id)!.tags;

test("merges, removes with undefined, is seen by ListTagResources, and holds ENS's limit of 20", async () => {
  const id = "i-emu00000001";
  emu.world.setInstanceTags(id, { team: "a", env: "prod" });
  emu.world.setInstanceTags(id, { env: undefined, cost: "42" });
  expect(tagsOf(id)).toEqual({ team: "a", cost: "42" });
  const listed = await call(emuClient(emu), "ListTagResources", { ResourceType: "instance", ResourceId: [id] });
  expect(listed.TagResources.map((t: any) => `${t.TagKey}=${t.TagValue}`)).toEqual(["team=a", "cost=42"]);
  const many = Object.fromEntries(Array.from({ length: 18 }, (_, i) => [`k${i}`, "v"]));
  emu.world.setInstanceTags(id, many); // 20 in all
  expect(Object.keys(tagsOf(id))).toHaveLength(20);
  expect(() => emu.world.setInstanceTags(id, { one: "more" })).toThrow(/would have 21 tags; ENS allows 20/);
  expect(Object.keys(tagsOf(id))).toHaveLength(20);
  expect(() => emu.world.setInstanceTags("i-nope", { a: "b" })).toThrow(/no instance i-nope/);
  // Now TagResources with a 21st key fails as ENS does.
  await expect(call(emuClient(emu), "TagResources", { ResourceType: "instance", ResourceId: [id], Tag: [{ Key: "x", Value: "y" }] })).rejects.toThrow(/TagCount/);
});
