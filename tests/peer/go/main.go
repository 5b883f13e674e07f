// Command ens-go-peer drives an ENS (2017-11-10) endpoint with Alibaba's own Go SDK
// (github.com/aliyun/alibaba-cloud-sdk-go, services/ens) and checks that the SDK's signer
// and decoders accept it: every call must return no error and the typed responses must
// carry the expected values.
//
//	ens-go-peer -endpoint http://127.0.0.1:PORT -access-key-id ID -access-key-secret S \
//	    -instance-ids i-1,i-2 [-key-name NAME] [-region cn-hangzhou]
//
// The sequence: CreateKeyPair, DescribeKeyPairs, DescribeInstances, StopInstances,
// DescribeInstances (Stopped), AttachKeyPair, DescribeInstances (KeyPairName), TagResources,
// ListTagResources, DetachKeyPair, DescribeInstances (no key), StartInstances,
// DescribeInstances (Running), StartInstances again (per-instance failure), DeleteKeyPairs,
// DescribeKeyPairs (gone). The instances must be Running at the start.
//
// Output: one JSON line per step on stdout, {"step", "action", "ok", "fields" | "error", ...}.
// Exit status 0 when every step passed, 1 on the first failure (with a message on stderr),
// 2 for bad flags. The SDK is pointed at the endpoint over plain HTTP; the HTTP transport
// refuses to dial anything but that host:port, so no real Alibaba Cloud endpoint is ever
// resolved or contacted.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ens"
)

const apiVersion = "2017-11-10"

type options struct {
	hostPort     string
	region       string
	keyName      string
	tagKey       string
	tagValue     string
	instanceIDs  []string
	waitTimeout  time.Duration
	pollInterval time.Duration
}

type runner struct {
	client *ens.Client
	opt    options
	step   int
}

// stepFailure ends the run with a clear message.
type stepFailure struct {
	action string
	msg    string
	err    error
}

func (f *stepFailure) Error() string {
	if f.err != nil {
		return fmt.Sprintf("%s: %s: %v", f.action, f.msg, f.err)
	}
	return fmt.Sprintf("%s: %s", f.action, f.msg)
}

func main() {
	endpoint := flag.String("endpoint", "", "ENS endpoint, http://127.0.0.1:PORT (required)")
	akID := flag.String("access-key-id", "", "access key id (required)")
	akSecret := flag.String("access-key-secret", "", "access key secret (required)")
	ids := flag.String("instance-ids", "", "comma-separated IDs of Running instances (required, 1-30)")
	region := flag.String("region", "cn-hangzhou", "RegionId the SDK signs into every request")
	keyName := flag.String("key-name", fmt.Sprintf("go-peer-%d", time.Now().UnixNano()), "name of the key pair to create")
	tagKey := flag.String("tag-key", "go-peer", "tag key set by TagResources")
	tagValue := flag.String("tag-value", "alibaba-cloud-sdk-go", "tag value set by TagResources")
	wait := flag.Duration("wait", 30*time.Second, "how long to wait for Stopped/Running after Stop/StartInstances")
	timeout := flag.Duration("timeout", 15*time.Second, "timeout of one HTTP request")
	flag.Parse()

	usage := func(msg string) {
		fmt.Fprintf(os.Stderr, "ens-go-peer: %s\n", msg)
		flag.Usage()
		os.Exit(2)
	}
	if *endpoint == "" || *akID == "" || *akSecret == "" || *ids == "" {
		usage("-endpoint, -access-key-id, -access-key-secret and -instance-ids are required")
	}
	u, err := url.Parse(*endpoint)
	if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		usage(fmt.Sprintf("-endpoint must look like http://127.0.0.1:PORT, got %q", *endpoint))
	}
	var instanceIDs []string
	for _, id := range strings.Split(*ids, ",") {
		if id = strings.TrimSpace(id); id != "" {
			instanceIDs = append(instanceIDs, id)
		}
	}
	if len(instanceIDs) == 0 || len(instanceIDs) > 30 {
		usage(fmt.Sprintf("-instance-ids must name 1 to 30 instances, got %d", len(instanceIDs)))
	}

	client, err := newClient(u.Host, *region, *akID, *akSecret, *timeout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ens-go-peer: creating the SDK client: %v\n", err)
		os.Exit(1)
	}
	r := &runner{client: client, opt: options{
		hostPort: u.Host, region: *region, keyName: *keyName, tagKey: *tagKey, tagValue: *tagValue,
		instanceIDs: instanceIDs, waitTimeout: *wait, pollInterval: 100 * time.Millisecond,
	}}
	if err := r.run(); err != nil {
		fmt.Fprintf(os.Stderr, "ens-go-peer: FAILED at step %d: %v\n", r.step, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "ens-go-peer: all %d steps passed\n", r.step)
}

// newClient builds an ens.Client whose every connection goes to hostPort over HTTP.
func newClient(hostPort, region, akID, akSecret string, timeout time.Duration) (*ens.Client, error) {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	transport := &http.Transport{
		Proxy: nil, // never a proxy; the SDK adds one only from *_proxy variables, see SetNoProxy below
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != hostPort {
				return nil, fmt.Errorf("ens-go-peer refuses to connect to %s: only %s (the -endpoint) is allowed", addr, hostPort)
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	config := sdk.NewConfig()
	config.Scheme = "HTTP"
	config.HttpTransport = transport
	config.Timeout = timeout
	config.AutoRetry = false
	client, err := ens.NewClientWithOptions(region, config, &credentials.AccessKeyCredential{AccessKeyId: akID, AccessKeySecret: akSecret})
	if err != nil {
		return nil, err
	}
	// The endpoint for every request: no endpoint map, no location service lookup.
	client.Domain = hostPort
	client.SetNoProxy(regexp.QuoteMeta(hostPort))
	return client, nil
}

// target points one request at the endpoint over plain HTTP (the SDK's per-request override).
func (r *runner) target(req *requests.RpcRequest) {
	req.Domain = r.opt.hostPort
	req.Scheme = requests.HTTP
}

// emit prints one JSON line.
func (r *runner) emit(action string, ok bool, requestID string, fields map[string]interface{}, failure error) {
	line := map[string]interface{}{"step": r.step, "action": action, "ok": ok}
	if requestID != "" {
		line["requestId"] = requestID
	}
	if fields != nil {
		line["fields"] = fields
	}
	if failure != nil {
		line["error"] = failure.Error()
		var se sdkerrors.Error
		if errors.As(failure, &se) {
			line["errorCode"] = se.ErrorCode()
			line["errorMessage"] = se.Message()
		}
		// Only a server error carries a real HTTP status (the SDK's client errors report a default 400).
		var server *sdkerrors.ServerError
		if errors.As(failure, &server) {
			line["httpStatus"] = server.HttpStatus()
		}
	}
	b, _ := json.Marshal(line)
	fmt.Println(string(b))
}

// do runs one step: call returns the decoded fields (and the request id) or an error.
func (r *runner) do(action string, call func() (string, map[string]interface{}, error)) error {
	r.step++
	requestID, fields, err := call()
	if err != nil {
		r.emit(action, false, requestID, fields, err)
		var sf *stepFailure
		if errors.As(err, &sf) {
			return err
		}
		return &stepFailure{action: action, msg: "the SDK returned an error", err: err}
	}
	r.emit(action, true, requestID, fields, nil)
	return nil
}

func fail(action, format string, args ...interface{}) error {
	return &stepFailure{action: action, msg: fmt.Sprintf(format, args...)}
}

func jsonList(ids []string) string {
	b, _ := json.Marshal(ids)
	return string(b)
}

func (r *runner) run() error {
	o := r.opt
	var keyPairID string

	// 1. CreateKeyPair
	if err := r.do("CreateKeyPair", func() (string, map[string]interface{}, error) {
		req := ens.CreateCreateKeyPairRequest()
		r.target(req.RpcRequest)
		req.KeyPairName = o.keyName
		res, err := r.client.CreateKeyPair(req)
		if err != nil {
			return "", nil, err
		}
		keyPairID = res.KeyPairId
		f := map[string]interface{}{
			"keyPairId": res.KeyPairId, "keyPairName": res.KeyPairName, "keyPairFingerPrint": res.KeyPairFingerPrint,
			"privateKeyBodyIsPem": strings.Contains(res.PrivateKeyBody, "PRIVATE KEY-----"),
		}
		switch {
		case res.KeyPairId == "":
			return res.RequestId, f, fail("CreateKeyPair", "KeyPairId did not decode (empty)")
		case res.KeyPairName != o.keyName:
			return res.RequestId, f, fail("CreateKeyPair", "KeyPairName decoded as %q, want %q", res.KeyPairName, o.keyName)
		case res.KeyPairFingerPrint == "":
			return res.RequestId, f, fail("CreateKeyPair", "KeyPairFingerPrint did not decode (empty)")
		case !strings.Contains(res.PrivateKeyBody, "PRIVATE KEY-----"):
			return res.RequestId, f, fail("CreateKeyPair", "PrivateKeyBody is not a PEM private key")
		case res.RequestId == "":
			return res.RequestId, f, fail("CreateKeyPair", "RequestId did not decode (empty)")
		}
		return res.RequestId, f, nil
	}); err != nil {
		return err
	}

	// 2. DescribeKeyPairs finds the key pair by the id CreateKeyPair returned.
	if err := r.describeKeyPair(keyPairID, true); err != nil {
		return err
	}

	// 3. DescribeInstances: all Running, no key pair from us yet.
	if err := r.describeInstances("Running", nil, false); err != nil {
		return err
	}

	// 4. StopInstances (typed request: InstanceIds.N on the wire)
	if err := r.lifecycle("StopInstances"); err != nil {
		return err
	}

	// 5. DescribeInstances: Stopped.
	if err := r.describeInstances("Stopped", nil, true); err != nil {
		return err
	}

	// 6. AttachKeyPair (no typed request in services/ens: common request, same signer)
	if err := r.keyPairBatch("AttachKeyPair", keyPairID); err != nil {
		return err
	}

	// 7. DescribeInstances: KeyPairName is ours.
	name := o.keyName
	if err := r.describeInstances("Stopped", &name, false); err != nil {
		return err
	}

	// 8. TagResources
	if err := r.do("TagResources", func() (string, map[string]interface{}, error) {
		req := ens.CreateTagResourcesRequest()
		r.target(req.RpcRequest)
		req.ResourceType = "instance"
		ids := append([]string(nil), o.instanceIDs...)
		req.ResourceId = &ids
		req.Tag = &[]ens.TagResourcesTag{{Key: o.tagKey, Value: o.tagValue}}
		res, err := r.client.TagResources(req)
		if err != nil {
			return "", nil, err
		}
		f := map[string]interface{}{"resourceIds": o.instanceIDs, "tagKey": o.tagKey, "tagValue": o.tagValue}
		if res.RequestId == "" {
			return "", f, fail("TagResources", "RequestId did not decode (empty)")
		}
		return res.RequestId, f, nil
	}); err != nil {
		return err
	}

	// 9. ListTagResources: every instance carries the tag (all pages).
	if err := r.do("ListTagResources", func() (string, map[string]interface{}, error) {
		tagged := map[string]string{}
		next, requestID, pages := "", "", 0
		for {
			req := ens.CreateListTagResourcesRequest()
			r.target(req.RpcRequest)
			req.ResourceType = "instance"
			ids := append([]string(nil), o.instanceIDs...)
			req.ResourceId = &ids
			req.NextToken = next
			res, err := r.client.ListTagResources(req)
			if err != nil {
				return requestID, nil, err
			}
			pages++
			requestID = res.RequestId
			for _, t := range res.TagResources {
				if t.ResourceType != "instance" && t.ResourceType != "INSTANCE" {
					return requestID, nil, fail("ListTagResources", "ResourceType decoded as %q for %s", t.ResourceType, t.ResourceId)
				}
				if t.TagKey == o.tagKey {
					tagged[t.ResourceId] = t.TagValue
				}
			}
			if res.NextToken == "" || pages > 100 {
				break
			}
			next = res.NextToken
		}
		f := map[string]interface{}{"tagged": tagged, "pages": pages}
		for _, id := range o.instanceIDs {
			if v, ok := tagged[id]; !ok || v != o.tagValue {
				return requestID, f, fail("ListTagResources", "instance %s: tag %s=%q not listed (got %q)", id, o.tagKey, o.tagValue, v)
			}
		}
		return requestID, f, nil
	}); err != nil {
		return err
	}

	// 10. DetachKeyPair
	if err := r.keyPairBatch("DetachKeyPair", keyPairID); err != nil {
		return err
	}

	// 11. DescribeInstances: no key pair.
	empty := ""
	if err := r.describeInstances("Stopped", &empty, false); err != nil {
		return err
	}

	// 12. StartInstances
	if err := r.lifecycle("StartInstances"); err != nil {
		return err
	}

	// 13. DescribeInstances: Running again.
	if err := r.describeInstances("Running", &empty, true); err != nil {
		return err
	}

	// 14. StartInstances on Running instances: the per-instance failure decodes into the typed fields.
	if err := r.startAlreadyRunning(); err != nil {
		return err
	}

	// 15. DeleteKeyPairs
	if err := r.do("DeleteKeyPairs", func() (string, map[string]interface{}, error) {
		req := ens.CreateDeleteKeyPairsRequest()
		r.target(req.RpcRequest)
		req.KeyPairId = keyPairID
		res, err := r.client.DeleteKeyPairs(req)
		if err != nil {
			return "", nil, err
		}
		f := map[string]interface{}{"keyPairId": keyPairID}
		if res.RequestId == "" {
			return "", f, fail("DeleteKeyPairs", "RequestId did not decode (empty)")
		}
		return res.RequestId, f, nil
	}); err != nil {
		return err
	}

	// 16. DescribeKeyPairs no longer finds it.
	return r.describeKeyPair(keyPairID, false)
}

func (r *runner) describeKeyPair(keyPairID string, wantFound bool) error {
	return r.do("DescribeKeyPairs", func() (string, map[string]interface{}, error) {
		req := ens.CreateDescribeKeyPairsRequest()
		r.target(req.RpcRequest)
		req.KeyPairId = keyPairID
		res, err := r.client.DescribeKeyPairs(req)
		if err != nil {
			return "", nil, err
		}
		var found []map[string]interface{}
		for _, k := range res.KeyPairs.KeyPair {
			found = append(found, map[string]interface{}{
				"keyPairId": k.KeyPairId, "keyPairName": k.KeyPairName, "keyPairFingerPrint": k.KeyPairFingerPrint, "creationTime": k.CreationTime,
			})
		}
		f := map[string]interface{}{"keyPairId": keyPairID, "totalCount": res.TotalCount, "pageNumber": res.PageNumber, "pageSize": res.PageSize, "keyPairs": found}
		if !wantFound {
			for _, k := range res.KeyPairs.KeyPair {
				if k.KeyPairId == keyPairID {
					return res.RequestId, f, fail("DescribeKeyPairs", "key pair %s is still listed after DeleteKeyPairs", keyPairID)
				}
			}
			if res.TotalCount != 0 {
				return res.RequestId, f, fail("DescribeKeyPairs", "TotalCount decoded as %d after DeleteKeyPairs, want 0", res.TotalCount)
			}
			return res.RequestId, f, nil
		}
		if res.TotalCount != 1 || len(res.KeyPairs.KeyPair) != 1 {
			return res.RequestId, f, fail("DescribeKeyPairs", "want exactly 1 key pair for KeyPairId %s, got TotalCount %d and %d entries", keyPairID, res.TotalCount, len(res.KeyPairs.KeyPair))
		}
		k := res.KeyPairs.KeyPair[0]
		switch {
		case k.KeyPairId != keyPairID:
			return res.RequestId, f, fail("DescribeKeyPairs", "KeyPairId decoded as %q, want %q", k.KeyPairId, keyPairID)
		case k.KeyPairName != r.opt.keyName:
			return res.RequestId, f, fail("DescribeKeyPairs", "KeyPairName decoded as %q, want %q", k.KeyPairName, r.opt.keyName)
		case k.KeyPairFingerPrint == "" || k.CreationTime == "":
			return res.RequestId, f, fail("DescribeKeyPairs", "KeyPairFingerPrint/CreationTime did not decode")
		case res.PageNumber != 1 || res.PageSize < 1:
			return res.RequestId, f, fail("DescribeKeyPairs", "PageNumber/PageSize decoded as %d/%d", res.PageNumber, res.PageSize)
		}
		return res.RequestId, f, nil
	})
}

// describeInstances checks every instance has status wantStatus (polling up to -wait when poll is set)
// and, when wantKey is not nil, KeyPairName == *wantKey ("" = none).
func (r *runner) describeInstances(wantStatus string, wantKey *string, poll bool) error {
	o := r.opt
	return r.do("DescribeInstances", func() (string, map[string]interface{}, error) {
		deadline := time.Now().Add(o.waitTimeout)
		polls := 0
		for {
			req := ens.CreateDescribeInstancesRequest()
			r.target(req.RpcRequest)
			req.InstanceIds = jsonList(o.instanceIDs)
			req.PageSize = "100"
			res, err := r.client.DescribeInstances(req)
			if err != nil {
				return "", nil, err
			}
			polls++
			byID := map[string]ens.Instance{}
			for _, inst := range res.Instances.Instance {
				byID[inst.InstanceId] = inst
			}
			statuses, keys := map[string]string{}, map[string]string{}
			var problems []string
			for _, id := range o.instanceIDs {
				inst, ok := byID[id]
				if !ok {
					problems = append(problems, fmt.Sprintf("%s not returned", id))
					continue
				}
				statuses[id], keys[id] = inst.Status, inst.KeyPairName
				if inst.Status != wantStatus {
					problems = append(problems, fmt.Sprintf("%s Status %q, want %q", id, inst.Status, wantStatus))
				}
				if wantKey != nil && inst.KeyPairName != *wantKey {
					problems = append(problems, fmt.Sprintf("%s KeyPairName %q, want %q", id, inst.KeyPairName, *wantKey))
				}
				if inst.EnsRegionId == "" || inst.InstanceName == "" {
					problems = append(problems, fmt.Sprintf("%s EnsRegionId/InstanceName did not decode", id))
				}
			}
			f := map[string]interface{}{
				"code": res.Code, "totalCount": res.TotalCount, "pageNumber": res.PageNumber, "pageSize": res.PageSize,
				"status": statuses, "keyPairName": keys, "polls": polls,
			}
			if res.TotalCount != len(o.instanceIDs) {
				problems = append(problems, fmt.Sprintf("TotalCount %d, want %d", res.TotalCount, len(o.instanceIDs)))
			}
			if len(problems) == 0 {
				return res.RequestId, f, nil
			}
			if !poll || time.Now().After(deadline) {
				return res.RequestId, f, fail("DescribeInstances", "%s", strings.Join(problems, "; "))
			}
			time.Sleep(o.pollInterval)
		}
	})
}

// lifecycle runs StopInstances or StartInstances over all instances; every InstanceResponses entry must decode Code 200.
func (r *runner) lifecycle(action string) error {
	o := r.opt
	return r.do(action, func() (string, map[string]interface{}, error) {
		ids := append([]string(nil), o.instanceIDs...)
		type item struct {
			Code       int64  `json:"code"`
			InstanceId string `json:"instanceId"`
			Message    string `json:"message"`
		}
		var items []item
		var requestID string
		if action == "StopInstances" {
			req := ens.CreateStopInstancesRequest()
			r.target(req.RpcRequest)
			req.InstanceIds = &ids
			res, err := r.client.StopInstances(req)
			if err != nil {
				return "", nil, err
			}
			requestID = res.RequestId
			for _, x := range res.InstanceResponses {
				items = append(items, item{x.Code, x.InstanceId, x.Message})
			}
		} else {
			req := ens.CreateStartInstancesRequest()
			r.target(req.RpcRequest)
			req.InstanceIds = &ids
			res, err := r.client.StartInstances(req)
			if err != nil {
				return "", nil, err
			}
			requestID = res.RequestId
			for _, x := range res.InstanceResponses {
				items = append(items, item{x.Code, x.InstanceId, x.Message})
			}
		}
		f := map[string]interface{}{"instanceResponses": items}
		if len(items) != len(o.instanceIDs) {
			return requestID, f, fail(action, "%d InstanceResponses decoded, want %d", len(items), len(o.instanceIDs))
		}
		seen := map[string]bool{}
		for _, it := range items {
			seen[it.InstanceId] = true
			if it.Code != 200 {
				return requestID, f, fail(action, "instance %s: Code decoded as %d (%s), want 200", it.InstanceId, it.Code, it.Message)
			}
		}
		for _, id := range o.instanceIDs {
			if !seen[id] {
				return requestID, f, fail(action, "no InstanceResponses entry for %s", id)
			}
		}
		return requestID, f, nil
	})
}

// startAlreadyRunning sends StartInstances for the first instance, which is Running: the call must
// either answer a per-instance failure that decodes into StartInstancesResponse (Code not 200,
// InstanceId, Message), or fail as a whole with a server error code. A JSON decode error of the SDK
// (e.g. a non-numeric Code in InstanceResponses) fails the step.
func (r *runner) startAlreadyRunning() error {
	const action = "StartInstances"
	id := r.opt.instanceIDs[0]
	r.step++
	req := ens.CreateStartInstancesRequest()
	r.target(req.RpcRequest)
	req.InstanceIds = &[]string{id}
	res, err := r.client.StartInstances(req)
	fields := map[string]interface{}{"instanceId": id, "expect": "per-instance failure for a Running instance"}
	if err != nil {
		var se *sdkerrors.ServerError
		if errors.As(err, &se) && se.ErrorCode() != "" {
			fields["outcome"] = "whole-call server error"
			r.emit(action, true, se.RequestId(), fields, err)
			return nil
		}
		r.emit(action, false, "", fields, err)
		return &stepFailure{action: action, msg: "StartInstances on a Running instance: the SDK could not read the answer", err: err}
	}
	fields["outcome"] = "per-instance failure"
	var items []map[string]interface{}
	for _, x := range res.InstanceResponses {
		items = append(items, map[string]interface{}{"code": x.Code, "instanceId": x.InstanceId, "message": x.Message})
	}
	fields["instanceResponses"] = items
	if len(res.InstanceResponses) != 1 || res.InstanceResponses[0].InstanceId != id || res.InstanceResponses[0].Code == 200 ||
		res.InstanceResponses[0].Message == "" {
		r.emit(action, false, res.RequestId, fields, nil)
		return fail(action, "want one InstanceResponses entry for %s with a Code other than 200 and a Message", id)
	}
	r.emit(action, true, res.RequestId, fields, nil)
	return nil
}

// keyPairResponse mirrors the AttachKeyPair/DetachKeyPair response model of the generated ENS SDKs
// (alibabacloud-go/ens-20171110: Code int64, Success bool): services/ens of alibaba-cloud-sdk-go has no typed
// request for these two actions, so they go through the SDK's CommonRequest (same signer) and are decoded here.
type keyPairResponse struct {
	RequestId   string `json:"RequestId"`
	KeyPairId   string `json:"KeyPairId"`
	KeyPairName string `json:"KeyPairName"`
	TotalCount  int64  `json:"TotalCount"`
	FailCount   int64  `json:"FailCount"`
	Results     []struct {
		Code       int64  `json:"Code"`
		InstanceId string `json:"InstanceId"`
		Message    string `json:"Message"`
		Success    bool   `json:"Success"`
	} `json:"Results"`
}

func (r *runner) keyPairBatch(action, keyPairID string) error {
	o := r.opt
	return r.do(action, func() (string, map[string]interface{}, error) {
		req := requests.NewCommonRequest()
		req.Method = requests.POST
		req.Scheme = requests.HTTP
		req.Domain = o.hostPort
		req.Product = "Ens"
		req.Version = apiVersion
		req.ApiName = action
		req.QueryParams["InstanceIds"] = jsonList(o.instanceIDs)
		req.QueryParams["KeyPairId"] = keyPairID
		res, err := r.client.ProcessCommonRequest(req)
		if err != nil {
			return "", nil, err
		}
		var body keyPairResponse
		if err := json.Unmarshal(res.GetHttpContentBytes(), &body); err != nil {
			return "", map[string]interface{}{"body": res.GetHttpContentString()}, fail(action, "response does not decode into the model (Code int64, Success bool): %v", err)
		}
		codes := map[string]int64{}
		var failed []string
		for _, x := range body.Results {
			codes[x.InstanceId] = x.Code
			if x.Code != 200 || !x.Success {
				failed = append(failed, fmt.Sprintf("%s: Code %d Success %v %s", x.InstanceId, x.Code, x.Success, x.Message))
			}
		}
		sort.Strings(failed)
		f := map[string]interface{}{
			"httpStatus": res.GetHttpStatus(), "keyPairId": body.KeyPairId, "keyPairName": body.KeyPairName,
			"totalCount": body.TotalCount, "failCount": body.FailCount, "codes": codes,
		}
		switch {
		case body.RequestId == "":
			return "", f, fail(action, "RequestId did not decode (empty)")
		case body.KeyPairId != keyPairID || body.KeyPairName != o.keyName:
			return body.RequestId, f, fail(action, "KeyPairId/KeyPairName decoded as %q/%q, want %q/%q", body.KeyPairId, body.KeyPairName, keyPairID, o.keyName)
		case body.TotalCount != int64(len(o.instanceIDs)) || body.FailCount != 0:
			return body.RequestId, f, fail(action, "TotalCount/FailCount decoded as %d/%d, want %d/0", body.TotalCount, body.FailCount, len(o.instanceIDs))
		case len(body.Results) != len(o.instanceIDs):
			return body.RequestId, f, fail(action, "%d Results, want %d", len(body.Results), len(o.instanceIDs))
		case len(failed) > 0:
			return body.RequestId, f, fail(action, "failed instances: %s", strings.Join(failed, "; "))
		}
		return body.RequestId, f, nil
	})
}
