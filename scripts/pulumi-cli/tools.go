//go:build tools

// Package tools pins the Pulumi CLI main package in this module's build list,
// so `go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi` resolves it with the
// versions recorded in go.mod/go.sum.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
