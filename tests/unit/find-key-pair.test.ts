import { EnsClient } from "../../provider/ens";
import type { DescribeKeyPairsRequest, DescribeKeyPairsResponse, KeyPair } from "../../provider/ens";

/** findKeyPair reads every page until TotalCount and matches exactly: ENS filters are not documented as exact. */
function clientWith(all: KeyPair[], pageLimit = 50) {
  const client = new EnsClient({ endpoint: "http://127.0.0.1:1", credentials: { accessKeyId: "a", accessKeySecret: "b" } });
  const asked: DescribeKeyPairsRequest[] = [];
  client.describeKeyPairs = async (req: DescribeKeyPairsRequest = {}): Promise<DescribeKeyPairsResponse> => {
    asked.push(req);
    const size = Math.min(req.pageSize ?? 10, pageLimit);
    const page = req.pageNumber ?? 1;
    // A fuzzy filter, as a service may apply: every key pair whose name contains the asked name.
    const matching = all.filter((k) => !req.keyPairName || k.KeyPairName.includes(req.keyPairName));
    return { RequestId: "r", KeyPairs: matching.slice((page - 1) * size, page * size), PageNumber: page, PageSize: size, TotalCount: matching.length };
  };
  return { client, asked };
}

const kp = (i: number, name = `team-key-${i}`): KeyPair => ({ KeyPairId: `ssh-${i}`, KeyPairName: name });

it("finds an exact name on the third page of a fuzzy answer, reading no further", async () => {
  const all = [...Array.from({ length: 120 }, (_, i) => kp(i, `team-key-${i}x`)), kp(999, "team-key"), kp(1000, "team-key-zz")];
  const { client, asked } = clientWith(all);
  expect(await client.findKeyPair({ keyPairName: "team-key" })).toEqual(kp(999, "team-key"));
  expect(asked.map((r) => r.pageNumber)).toEqual([1, 2, 3]);
});

it("answers undefined after the last page when nothing matches exactly, and stops on an empty page", async () => {
  const { client, asked } = clientWith(Array.from({ length: 70 }, (_, i) => kp(i, `team-key-${i}`)));
  expect(await client.findKeyPair({ keyPairName: "team-key" })).toBeUndefined();
  expect(asked.map((r) => r.pageNumber)).toEqual([1, 2]);
  const short = clientWith(Array.from({ length: 70 }, (_, i) => kp(i)), 20); // the service pages smaller than asked
  expect(await short.client.findKeyPair({ keyPairId: "ssh-65" })).toEqual(kp(65));
});
