/**
 * A loopback stand-in for Alibaba Cloud STS AssumeRole (2015-04-01), over HTTPS as `@alicloud/credentials` always
 * uses it: a self-signed certificate for 127.0.0.1 made with openssl (trust it in a child process with
 * NODE_EXTRA_CA_CERTS=caFile), the HMAC-SHA1 signature checked against the base keys it knows, and STS's answer
 * shape. Nothing leaves the machine.
 */
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

export interface StsRequest {
  query: Record<string, string>;
  form: Record<string, string>;
  signatureOk: boolean;
}

export interface StsFake {
  /** host:port, the form ens:stsEndpoint / ENS_STS_ENDPOINT take. */
  host: string;
  caFile: string;
  requests: StsRequest[];
  close(): Promise<void>;
}

const encode = (s: string) => encodeURIComponent(s).replace(/!/g, "%21").replace(/'/g, "%27").replace(/\(/g, "%28").replace(/\)/g, "%29").replace(/\*/g, "%2A");

/** `baseKeys`: access key id -> secret it accepts; `issue`: the temporary key it hands out. */
export async function startStsFake(baseKeys: Record<string, string>, issue: { accessKeyId: string; accessKeySecret: string; securityToken: string }): Promise<StsFake> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ens-kp-sts-"));
  const keyFile = path.join(dir, "key.pem");
  const caFile = path.join(dir, "cert.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", caFile, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "pipe" });
  const requests: StsRequest[] = [];
  const server = https.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(caFile) }, (req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "https://127.0.0.1");
      const query = Object.fromEntries(url.searchParams);
      const form = Object.fromEntries(new URLSearchParams(body));
      const { Signature, ...signed } = { ...query, ...form };
      const secret = baseKeys[query.AccessKeyId];
      const canonical = Object.keys(signed).sort().map((k) => `${encode(k)}=${encode(signed[k])}`).join("&");
      const expected = secret === undefined ? undefined : crypto.createHmac("sha1", `${secret}&`).update(`${req.method}&${encode("/")}&${encode(canonical)}`).digest("base64");
      const signatureOk = expected !== undefined && expected === Signature;
      requests.push({ query, form, signatureOk });
      const send = (status: number, o: unknown) => {
        res.writeHead(status, { "content-type": "application/json;charset=utf-8" });
        res.end(JSON.stringify(o));
      };
      if (query.Action !== "AssumeRole") return send(400, { RequestId: "sts-fake", Code: "InvalidAction", Message: `unknown action ${query.Action}` });
      if (!signatureOk) return send(400, { RequestId: "sts-fake", Code: "InvalidAccessKeyId.NotFound", Message: "Specified access key is not found or the signature does not match." });
      if (!form.RoleArn?.startsWith("acs:ram::")) return send(400, { RequestId: "sts-fake", Code: "InvalidParameter.RoleArn", Message: "The parameter RoleArn is wrongly formed." });
      const expiration = new Date(Date.now() + Number(form.DurationSeconds ?? 3600) * 1000).toISOString().replace(/\.\d+Z$/, "Z");
      send(200, {
        RequestId: "sts-fake",
        AssumedRoleUser: { Arn: `${form.RoleArn}/${form.RoleSessionName}`, AssumedRoleId: `3000:${form.RoleSessionName}` },
        Credentials: { AccessKeyId: issue.accessKeyId, AccessKeySecret: issue.accessKeySecret, SecurityToken: issue.securityToken, Expiration: expiration },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    caFile,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        fs.rmSync(dir, { recursive: true, force: true });
      }),
  };
}
