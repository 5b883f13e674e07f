// Wrapper module that builds the Pulumi CLI (pkg/v3/cmd/pulumi) at a pinned
// release plus our own minimal Node.js language host (./langhost), using only
// the Go module proxy. See scripts/ensure-pulumi.sh.
module pulumi-ens-keypair/pulumi-cli

go 1.25.11

require (
	github.com/pulumi/pulumi/pkg/v3 v3.248.0
	github.com/pulumi/pulumi/sdk/v3 v3.248.0
)

// Copied from github.com/pulumi/pulumi/pkg/v3@v3.248.0's go.mod (only the
// third-party replace; its `sdk/v3 => ../sdk` is satisfied by the require above).
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
