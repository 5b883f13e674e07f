import { AsyncLocalStorage } from "node:async_hooks";
import OpenApi, * as $OpenApi from "@alicloud/openapi-client";
import OpenApiUtil from "@alicloud/openapi-util";
import * as $Util from "@alicloud/tea-util";
import { chunk, MAX_BINDING_BATCH, MAX_DESCRIBE_IDS } from "../batch";
import { CallBudget, DEFAULT_RETRY, RetryPolicy, withRetry } from "../policies";
import { AccessKey, toCredential } from "./credentials";
import { EnsError, redact, toEnsError } from "./errors";
import * as T from "./types";
import { libraryTimeouts, withWireTimeouts, WireTimeouts } from "./wire-timeouts";

export const ENS_API_VERSION = "2017-11-10";
export const DEFAULT_ENDPOINT = "https://ens.aliyuncs.com";
/**
 * Reaching ens.aliyuncs.com (DNS, TCP, TLS) from a far edge region over a lossy link: four SYNs (Linux sends them at
 * 0, 1, 3 and 7 s) and a TLS handshake of a few round trips fit in 10 s. terraform-provider-alicloud gives 60 s
 * (provider.go client_connect_timeout), which holds an attempt on a dead host for a minute.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** From connected to the end of the answer: terraform-provider-alicloud's 60 s (provider.go client_read_timeout). */
export const DEFAULT_READ_TIMEOUT_MS = 60_000;

export interface EnsClientOptions {
  /** Full URL such as `https://ens.aliyuncs.com` (default) or `http://127.0.0.1:8734`. */
  endpoint?: string;
  /** Where the endpoint came from, for messages ("from the resource's account.endpoint"); default: the stack settings. */
  endpointSource?: string;
  /** Explicit access key; without one the default chain of `@alicloud/credentials` is used. */
  credentials?: AccessKey;
  /** `v2` = the older HMAC-SHA1 query signature; default ACS3-HMAC-SHA256. */
  signatureAlgorithm?: "ACS3-HMAC-SHA256" | "v2";
  retry?: RetryPolicy;
  /** Shared concurrency and rate budget; calls run unthrottled without one. */
  budget?: CallBudget;
  /** DNS, TCP and (https) TLS handshake of a new connection; default DEFAULT_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /** From connected (or a kept-alive connection taken) to the end of the answer; default DEFAULT_READ_TIMEOUT_MS. */
  readTimeoutMs?: number;
}

/** What this client sent: calls per action (retries included) and retries. */
export interface CallStats {
  calls: Record<string, number>;
  retries: number;
}

const operationCalls = new AsyncLocalStorage<{ calls: number }>();

/**
 * Runs `fn`, counting in `counter` the ENS calls it makes (retries included), apart from the other operations that
 * share the one client of the process.
 */
export function countingCalls<T>(counter: { calls: number }, fn: () => Promise<T>): Promise<T> {
  return operationCalls.run(counter, fn);
}

/** Parses and checks an endpoint URL; the error names the setting and the fix. */
export function parseEndpoint(endpoint: string): { protocol: "http" | "https"; host: string; url: string } {
  const withScheme = /^[a-z]+:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new Error(`endpoint "${endpoint}" is not a URL: give one such as https://ens.aliyuncs.com or http://127.0.0.1:8734`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new Error(`endpoint "${endpoint}" must use http or https, not ${u.protocol.replace(":", "")}`);
  }
  if ((u.pathname && u.pathname !== "/") || u.search || u.username || u.password) {
    throw new Error(`endpoint "${endpoint}" must be a scheme, host and optional port only (no path, query or user)`);
  }
  const protocol = u.protocol === "http:" ? "http" : "https";
  return { protocol, host: u.host, url: `${protocol}://${u.host}` };
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return name === "localhost" || name === "::1" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * Typed ENS client: one wire path (`call`) over `@alicloud/openapi-client`'s `callApi`, RPC style, every
 * parameter in the query string, encoded exactly as the generated ENS SDK encodes it.
 */
export class EnsClient {
  readonly endpoint: string;
  private readonly endpointSource?: string;
  readonly stats: CallStats = { calls: {}, retries: 0 };
  private readonly api: OpenApi;
  private readonly retry: RetryPolicy;
  private readonly budget?: CallBudget;
  private readonly runtime: $Util.RuntimeOptions;
  private readonly timeouts: WireTimeouts;

  constructor(opts: EnsClientOptions = {}) {
    const ep = parseEndpoint(opts.endpoint ?? DEFAULT_ENDPOINT);
    this.endpoint = ep.url;
    this.endpointSource = opts.endpointSource;
    this.timeouts = { host: ep.host, connectMs: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, readMs: opts.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS };
    this.api = new OpenApi(
      new $OpenApi.Config({
        endpoint: ep.host,
        protocol: ep.protocol,
        credential: toCredential(opts.credentials),
        signatureAlgorithm: opts.signatureAlgorithm === "v2" ? "v2" : undefined,
        ...libraryTimeouts(this.timeouts),
      }),
    );
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.budget = opts.budget;
    this.runtime = new $Util.RuntimeOptions({});
  }

  /** The one wire entry: signs and sends `action` with `query`, under the budget, retried by the policy. */
  async call(action: string, query: Record<string, unknown>): Promise<Record<string, any>> {
    const once = async () => {
      this.stats.calls[action] = (this.stats.calls[action] ?? 0) + 1;
      const counter = operationCalls.getStore();
      if (counter) counter.calls++;
      try {
        const request = new $OpenApi.OpenApiRequest({ query: OpenApiUtil.query(query) });
        const res = await withWireTimeouts(this.timeouts, () => this.api.callApi(params(action), request, this.runtime));
        return (res?.body ?? {}) as Record<string, any>;
      } catch (e) {
        throw toEnsError(e, action, this.endpoint, this.endpointSource);
      }
    };
    const scheduled = () => (this.budget ? this.budget.schedule(once) : once());
    return withRetry(scheduled, this.retry, () => this.stats.retries++);
  }

  attachKeyPair(key: T.KeyPairRef, instanceIds: string[]): Promise<T.KeyPairBindingResponse> {
    return this.binding("AttachKeyPair", key, instanceIds);
  }

  detachKeyPair(key: T.KeyPairRef, instanceIds: string[]): Promise<T.KeyPairBindingResponse> {
    return this.binding("DetachKeyPair", key, instanceIds);
  }

  private async binding(action: string, key: T.KeyPairRef, instanceIds: string[]): Promise<T.KeyPairBindingResponse> {
    if (instanceIds.length < 1 || instanceIds.length > MAX_BINDING_BATCH) {
      throw new EnsError("InvalidParameter.InstanceIds", `${action}: InstanceIds takes 1 to ${MAX_BINDING_BATCH} IDs, got ${instanceIds.length}`, action);
    }
    const body = await this.call(action, { ...keyQuery(key), InstanceIds: JSON.stringify(instanceIds) });
    // Code is a number in the models (200 = ok; AttachKeyPairResponseBody.ts `code?: number`); a name may come too.
    const results = listOf(body.Results, "Result").map((r: any) => ({
      InstanceId: String(r.InstanceId),
      ...outcome(r.Code, r.Message),
      // Success says it; a Code of 200 stands in only when Success is absent (200 with Success false: observation decides).
      Success: r.Success === undefined || r.Success === null ? String(r.Code) === "200" : r.Success === true || r.Success === "true",
    }));
    return {
      RequestId: body.RequestId,
      KeyPairId: body.KeyPairId,
      KeyPairName: body.KeyPairName,
      TotalCount: Number(body.TotalCount ?? results.length),
      FailCount: Number(body.FailCount ?? results.filter((r) => !r.Success).length),
      Results: results,
    };
  }

  /** One page of DescribeInstances (at most 100 IDs, at most 100 per page). */
  async describeInstances(req: T.DescribeInstancesRequest = {}): Promise<T.DescribeInstancesResponse> {
    if (req.instanceIds && req.instanceIds.length > MAX_DESCRIBE_IDS) {
      throw new EnsError("InvalidParameter.InstanceIds", `DescribeInstances: at most ${MAX_DESCRIBE_IDS} InstanceIds, got ${req.instanceIds.length}`, "DescribeInstances");
    }
    const body = await this.call("DescribeInstances", {
      InstanceIds: req.instanceIds ? JSON.stringify(req.instanceIds) : undefined,
      PageNumber: req.pageNumber,
      PageSize: req.pageSize,
      Status: req.status,
      EnsRegionId: req.ensRegionId,
    });
    return {
      RequestId: body.RequestId,
      Instances: listOf(body.Instances, "Instance"),
      PageNumber: Number(body.PageNumber ?? req.pageNumber ?? 1),
      PageSize: Number(body.PageSize ?? req.pageSize ?? 10),
      TotalCount: Number(body.TotalCount ?? 0),
    };
  }

  /**
   * The live view of the given instances: ceil(n/100) calls, each asking for 100 IDs in one page of 100.
   * One answer is not evidence of absence: instances missing from it are asked for once more, and only those missing
   * from both answers are absent from the result (ENS does not know them).
   */
  async describeInstancesById(instanceIds: readonly string[]): Promise<Map<string, T.Instance>> {
    const out = await this.describeOnce(instanceIds);
    const missing = instanceIds.filter((id) => !out.has(id));
    if (missing.length) for (const [id, inst] of await this.describeOnce(missing)) out.set(id, inst);
    return out;
  }

  private async describeOnce(instanceIds: readonly string[]): Promise<Map<string, T.Instance>> {
    const pages = await Promise.all(
      chunk(instanceIds, MAX_DESCRIBE_IDS).map((ids) => this.describeInstances({ instanceIds: ids, pageSize: MAX_DESCRIBE_IDS, pageNumber: 1 })),
    );
    const out = new Map<string, T.Instance>();
    for (const page of pages) for (const inst of page.Instances) out.set(inst.InstanceId, inst);
    return out;
  }

  async describeKeyPairs(req: T.DescribeKeyPairsRequest = {}): Promise<T.DescribeKeyPairsResponse> {
    const body = await this.call("DescribeKeyPairs", {
      KeyPairId: req.keyPairId,
      KeyPairName: req.keyPairName,
      PageNumber: req.pageNumber,
      PageSize: req.pageSize,
    });
    return {
      RequestId: body.RequestId,
      KeyPairs: listOf(body.KeyPairs, "KeyPair"),
      PageNumber: Number(body.PageNumber ?? 1),
      PageSize: Number(body.PageSize ?? 10),
      TotalCount: Number(body.TotalCount ?? 0),
    };
  }

  /**
   * The key pair a reference names, or undefined when ENS has none by that ID or name. The filters of
   * DescribeKeyPairs are not documented as exact, so every page is read (until TotalCount) and matched exactly.
   */
  async findKeyPair(key: T.KeyPairRef): Promise<T.KeyPair | undefined> {
    const matches = (k: T.KeyPair) => (key.keyPairId ? k.KeyPairId === key.keyPairId : k.KeyPairName === key.keyPairName);
    for (let page = 1, seen = 0; ; page++) {
      const res = await this.describeKeyPairs({ keyPairId: key.keyPairId, keyPairName: key.keyPairName, pageNumber: page, pageSize: KEY_PAIR_PAGE });
      const found = res.KeyPairs.find(matches);
      seen += res.KeyPairs.length;
      if (found) return found;
      if (!res.KeyPairs.length || seen >= res.TotalCount) return undefined;
    }
  }

  async createKeyPair(keyPairName: string): Promise<T.CreateKeyPairResponse> {
    return (await this.call("CreateKeyPair", { KeyPairName: keyPairName })) as T.CreateKeyPairResponse;
  }

  async importKeyPair(keyPairName: string, publicKeyBody: string): Promise<T.ImportKeyPairResponse> {
    return (await this.call("ImportKeyPair", { KeyPairName: keyPairName, PublicKeyBody: publicKeyBody })) as T.ImportKeyPairResponse;
  }

  async deleteKeyPairs(key: T.KeyPairRef): Promise<{ RequestId: string }> {
    return (await this.call("DeleteKeyPairs", keyQuery(key))) as { RequestId: string };
  }

  /**
   * StopInstances: InstanceIds comma-separated, as the TypeScript SDK sends them. Its request holds InstanceIds only
   * (StopInstancesRequest.ts): a forced stop goes through StopInstance.
   */
  stopInstances(instanceIds: string[]): Promise<T.InstancesOperateResponse> {
    return this.operate("StopInstances", instanceIds);
  }

  startInstances(instanceIds: string[]): Promise<T.InstancesOperateResponse> {
    return this.operate("StartInstances", instanceIds);
  }

  private async operate(action: string, instanceIds: string[]): Promise<T.InstancesOperateResponse> {
    const body = await this.call(action, { InstanceIds: instanceIds.join(",") });
    return {
      RequestId: body.RequestId,
      // Code is an int64 in the models (StopInstancesResponseBody.ts, stop_instances_response_body_model.go).
      InstanceResponses: listOf(body.InstanceResponses, "InstanceResponse").map((r: any) => ({
        InstanceId: String(r.InstanceId),
        ...outcome(r.Code, r.Message),
      })),
    };
  }

  /** StopInstance (one instance): ForceStop is a string "true"/"false" in StopInstanceRequest.ts. */
  async stopInstance(instanceId: string, forceStop = false): Promise<{ RequestId: string }> {
    return (await this.call("StopInstance", { InstanceId: instanceId, ...(forceStop ? { ForceStop: "true" } : {}) })) as { RequestId: string };
  }

  async startInstance(instanceId: string): Promise<{ RequestId: string }> {
    return (await this.call("StartInstance", { InstanceId: instanceId })) as { RequestId: string };
  }

  /** Tags on instances (ResourceId.N, Tag.N.Key / Tag.N.Value). */
  async tagResources(instanceIds: string[], tags: T.Tag[]): Promise<void> {
    await this.call("TagResources", { ResourceType: "instance", ResourceId: instanceIds, Tag: tags });
  }

  async untagResources(instanceIds: string[], tagKeys: string[]): Promise<void> {
    await this.call("UntagResources", { ResourceType: "instance", ResourceId: instanceIds, TagKey: tagKeys });
  }

  /**
   * Tags of the instances matching `tag` (a key, optionally with a value), all pages. A NextToken ENS already gave
   * ends the paging with an error: following it would read the same pages forever.
   */
  async listTagResources(req: { instanceIds?: string[]; tag?: { Key: string; Value?: string } }): Promise<T.TagResource[]> {
    const out: T.TagResource[] = [];
    const seen = new Set<string>();
    let nextToken: string | undefined;
    for (let page = 1; ; page++) {
      const body = await this.call("ListTagResources", {
        ResourceType: "instance",
        ResourceId: req.instanceIds,
        Tag: req.tag ? [req.tag] : undefined,
        NextToken: nextToken,
      });
      out.push(...listOf(body.TagResources, "TagResource"));
      nextToken = body.NextToken ? String(body.NextToken) : undefined;
      if (!nextToken) return out;
      if (seen.has(nextToken)) {
        const text = `ENS answered page ${page} with the NextToken "${nextToken}" it had already given; stopped paging instead of reading the same pages again`;
        throw new EnsError("InvalidNextToken.Repeated", redact(`ListTagResources: InvalidNextToken.Repeated: ${text}`), "ListTagResources", undefined, body.RequestId);
      }
      seen.add(nextToken);
    }
  }
}

function params(action: string): $OpenApi.Params {
  return new $OpenApi.Params({
    action,
    version: ENS_API_VERSION,
    protocol: "HTTPS",
    pathname: "/",
    method: "POST",
    authType: "AK",
    style: "RPC",
    reqBodyType: "formData",
    bodyType: "json",
  });
}

function keyQuery(key: T.KeyPairRef): Record<string, string> {
  return key.keyPairId ? { KeyPairId: key.keyPairId } : { KeyPairName: key.keyPairName as string };
}

const KEY_PAIR_PAGE = 50;

/**
 * A per-instance result's code as a name where one can be had: "200"/"0" for success stay as they are; a numeric
 * failure code (the models type Code as a number) gives way to the error name that leads the Message
 * ("IncorrectInstanceStatus: ..."), else the number is kept. A string code is kept as sent.
 */
export function errorName(code: unknown, message: unknown): string {
  const c = String(code ?? "");
  if (!/^\d+$/.test(c) || c === "200" || c === "0") return c;
  const named = /^([A-Z][A-Za-z0-9]*(?:\.[A-Za-z0-9%]+)*)(?::|\s|$)/.exec(String(message ?? ""));
  return named ? named[1] : c;
}

/**
 * A per-instance outcome as ENS wrote it, through the same redaction as errors: an endpoint that echoes the request
 * puts the access key secret or the STS token into the message.
 */
function outcome(code: unknown, message: unknown): { Code: string; Message: string } {
  return { Code: redact(errorName(code, message)), Message: redact(withoutName(code, message)) };
}

/** The Message without the error name that leads it when the code was a number (the name became the code). */
function withoutName(code: unknown, message: unknown): string {
  const m = String(message ?? "");
  const name = errorName(code, message);
  return name !== String(code ?? "") && m.startsWith(`${name}: `) ? m.slice(name.length + 2) : m;
}

/** ENS lists come either as a plain array or wrapped as `{Item: [...]}`; accept both. */
function listOf(value: any, wrapper: string): any[] {
  if (Array.isArray(value)) return value;
  if (value && Array.isArray(value[wrapper])) return value[wrapper];
  return [];
}
