// Command pulumi-language-nodejs is a minimal Node.js language host for the
// Pulumi engine, written for this repository because the real host's Go module
// is not served by the module proxy we can reach.
//
// It covers what `pulumi up/preview/refresh/destroy` need for a plain
// JavaScript or TypeScript program whose only providers are dynamic providers:
// it runs the program through `@pulumi/pulumi/cmd/run`, resolved from the
// program directory. It reports no required plugins, installs the program's
// npm dependencies for `pulumi install` and does not generate code.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// cmd/run exits with this code when it has already shown the error to the user;
// the engine must then stop without printing another error ("bail").
const bailExitCode = 32

func main() {
	// The engine runs `pulumi-language-nodejs [--logtostderr] [-v=N] [--tracing URL] ENGINE_ADDRESS`.
	// -v and --logtostderr are registered on the default flag set by the logging package.
	tracing := flag.String("tracing", "", "Zipkin-compatible tracing endpoint, passed on to node")
	flag.String("root", "", "ignored; accepted for compatibility with the real host")
	flag.Parse()
	logging.InitLogging(false, 0, false)

	host := &nodeHost{tracing: *tracing}
	go exitWithEngine()
	if flag.NArg() > 0 {
		host.engineAddress = flag.Arg(0)
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: could not start the gRPC server: %v\n", err)
		os.Exit(1)
	}

	// Handshake with the engine: the first line on stdout is our port. Everything
	// written to stdout/stderr afterwards is shown to the user as diagnostics.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
}

type nodeHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	engineAddress string
	tracing       string
}

// Handshake is only called when the engine attaches to an already running host
// (PULUMI_DEBUG_LANGUAGES); then the engine address arrives here instead of argv.
func (h *nodeHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *nodeHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// Dynamic providers are served by pulumi-resource-pulumi-nodejs, which the
// engine finds by itself, so there are no plugins or packages to report.
func (h *nodeHost) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *nodeHost) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// InstallDependencies does what the real host does for `pulumi install` (and `pulumi new`): the package manager
// (npm unless the `packagemanager` runtime option or a yarn/pnpm/bun lock file says otherwise) installs in the
// program's directory, or in the root of the workspace it belongs to, its output streamed back as it comes.
func (h *nodeHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest,
	stream grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(stream, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	dir := programDirectory(req.GetInfo(), req.GetDirectory()) //nolint:staticcheck // older engines only set Directory
	if root, err := npm.FindWorkspaceRoot(dir); err == nil {
		dir = root
	}
	manager := npm.AutoPackageManager
	if name, ok := req.GetInfo().GetOptions().AsMap()["packagemanager"].(string); ok && name != "" {
		manager = npm.PackageManagerType(name)
	}
	fmt.Fprintf(stdout, "Installing dependencies...\n\n")
	if name, err := npm.Install(stream.Context(), manager, dir, false, stdout, stderr); err != nil {
		return fmt.Errorf("%s install failed: %w", name, err)
	}
	fmt.Fprintf(stdout, "Finished installing dependencies\n\n")
	return closer.Close()
}

func (h *nodeHost) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("could not find node on the PATH")
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("running node --version: %w", err)
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

// GetProgramDependencies lists the direct dependencies from package.json with
// the versions installed in node_modules (or the declared range if missing).
func (h *nodeHost) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := programDirectory(req.GetInfo(), req.GetPwd())
	var pkg struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := readJSON(filepath.Join(dir, "package.json"), &pkg); err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, deps := range []map[string]string{pkg.Dependencies, pkg.DevDependencies} {
		for name, declared := range deps {
			var installed struct{ Version string }
			if readJSON(filepath.Join(dir, "node_modules", name, "package.json"), &installed) == nil {
				declared = installed.Version
			}
			resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: name, Version: declared})
		}
	}
	return resp, nil
}

func (h *nodeHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	dir := programDirectory(info, req.GetPwd())
	entryPoint := info.GetEntryPoint()
	if entryPoint == "" {
		entryPoint = req.GetProgram() //nolint:staticcheck // older engines only set this
	}
	if entryPoint == "" {
		entryPoint = "." // cmd/run then uses package.json's exports/main, or index.js
	}
	opts := info.GetOptions().AsMap()

	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the PATH"}, nil
	}
	runPath, err := resolveModule(ctx, node, dir, "@pulumi/pulumi/cmd/run")
	if err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf(
			"could not find @pulumi/pulumi from %s; have you run `npm install`? (%v)", dir, err)}, nil
	}

	var args []string
	if nodeargs, ok := opts["nodeargs"].(string); ok {
		args = append(args, strings.Fields(nodeargs)...)
	}
	args = append(args, runPath)
	addArg := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name+"="+value)
		}
	}
	addArg("monitor", req.GetMonitorAddress())
	addArg("engine", h.engineAddress)
	addArg("organization", req.GetOrganization())
	addArg("project", req.GetProject())
	addArg("stack", req.GetStack())
	addArg("root-directory", info.GetRootDirectory())
	addArg("pwd", req.GetPwd())
	addArg("parallel", fmt.Sprint(req.GetParallel()))
	addArg("tracing", h.tracing)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	args = append(args, entryPoint)
	args = append(args, req.GetArgs()...)

	// The SDK reads config (keys like "project:key") and the secret keys from the environment.
	// A stack without config has a nil map, which would marshal to "null" and break the SDK's parser.
	cfg := req.GetConfig()
	if cfg == nil {
		cfg = map[string]string{}
	}
	config, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(append([]string{}, req.GetConfigSecretKeys()...))
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys),
	)
	// Like the real host: TypeScript (ts-node) is on unless Pulumi.yaml says `runtime.options.typescript: false`.
	if ts, ok := opts["typescript"].(bool); !ok || ts {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if tsconfig, ok := opts["tsconfig"].(string); ok && tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+tsconfig)
	}

	logging.V(5).Infof("pulumi-language-nodejs: running %s %s in %s", node, strings.Join(args, " "), dir)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr

	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == bailExitCode:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{Error: "Program was terminated: " + exitErr.Error()}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run node: %v", err)}, nil
	}
}

func programDirectory(info *pulumirpc.ProgramInfo, pwd string) string {
	if dir := info.GetProgramDirectory(); dir != "" {
		return dir
	}
	if pwd != "" {
		return pwd
	}
	dir, _ := os.Getwd()
	return dir
}

// resolveModule resolves a module the way the program itself will: with node's
// require.resolve from the program directory.
func resolveModule(ctx context.Context, node, dir, module string) (string, error) {
	cmd := exec.CommandContext(ctx, node, "-e", "process.stdout.write(require.resolve(process.argv[1]))", module)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			lines := strings.Split(msg, "\n")
			for _, line := range lines {
				if strings.HasPrefix(line, "Error:") {
					return "", errors.New(line)
				}
			}
		}
		return "", err
	}
	return string(out), nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// exitWithEngine ends this host when the engine that started it is gone (for example after a SIGKILL of the CLI,
// which does not reach plugins in their own process groups): the parent process id then changes.
func exitWithEngine() {
	parent := os.Getppid()
	for range time.Tick(time.Second) {
		if os.Getppid() != parent {
			os.Exit(1)
		}
	}
}
