/** Typed shapes of the ENS 2017-11-10 operations this package uses (fields as ENS names them). */

export type InstanceStatus = "Running" | "Stopping" | "Stopped" | "Starting" | string;

/** Exactly one of the two: ENS recommends KeyPairId; KeyPairName is to be deprecated. */
export type KeyPairRef = { keyPairId: string; keyPairName?: undefined } | { keyPairName: string; keyPairId?: undefined };

export interface InstanceResult {
  InstanceId: string;
  /** "200" (or 200) on success, an error code otherwise. */
  Code: string;
  Message: string;
  Success: boolean;
}

export interface KeyPairBindingResponse {
  RequestId: string;
  KeyPairId?: string;
  KeyPairName?: string;
  TotalCount: number;
  FailCount: number;
  Results: InstanceResult[];
}

export interface Instance {
  InstanceId: string;
  Status: InstanceStatus;
  KeyPairName?: string;
  EnsRegionId?: string;
  InstanceName?: string;
  [field: string]: unknown;
}

export interface DescribeInstancesRequest {
  /** At most 100. */
  instanceIds?: string[];
  pageNumber?: number;
  /** At most 100. */
  pageSize?: number;
  status?: string;
  ensRegionId?: string;
}

export interface DescribeInstancesResponse {
  RequestId: string;
  Instances: Instance[];
  PageNumber: number;
  PageSize: number;
  TotalCount: number;
}

export interface KeyPair {
  KeyPairId: string;
  KeyPairName: string;
  KeyPairFingerPrint?: string;
  CreationTime?: string;
}

export interface DescribeKeyPairsRequest {
  keyPairId?: string;
  keyPairName?: string;
  pageNumber?: number;
  pageSize?: number;
}

export interface DescribeKeyPairsResponse {
  RequestId: string;
  KeyPairs: KeyPair[];
  PageNumber: number;
  PageSize: number;
  TotalCount: number;
}

export interface CreateKeyPairResponse {
  RequestId: string;
  KeyPairId: string;
  KeyPairName: string;
  KeyPairFingerPrint: string;
  PrivateKeyBody: string;
}

export interface ImportKeyPairResponse {
  RequestId: string;
  KeyPairName: string;
  KeyPairFingerPrint: string;
}

export interface InstanceOperateResult {
  InstanceId: string;
  Code: string;
  Message: string;
}

export interface InstancesOperateResponse {
  RequestId: string;
  InstanceResponses: InstanceOperateResult[];
}

export interface Tag {
  Key: string;
  Value: string;
}

export interface TagResource {
  ResourceId: string;
  ResourceType: string;
  TagKey: string;
  TagValue: string;
}
