#!/usr/bin/env bash
# Provides the Pulumi CLI without internet access (only the Go module proxy is needed).
#
#   bash scripts/ensure-pulumi.sh              print the directory holding pulumi,
#                                              pulumi-language-nodejs and pulumi-resource-pulumi-nodejs
#   bash scripts/ensure-pulumi.sh --run -- ARGS  run `pulumi ARGS` with that directory on PATH
#
# Uses `pulumi` from PATH when it and `pulumi-language-nodejs` are both there
# (set PULUMI_ENS_CLI_FORCE_BUILD=1 to ignore them). Otherwise builds them from
# scripts/pulumi-cli (the CLI from github.com/pulumi/pulumi/pkg/v3 plus our own
# minimal language host) into
#   ${PULUMI_ENS_CLI_CACHE:-$HOME/.cache/pulumi-ens-keypair}/cli/<version>-<source hash>/bin
# The directory one level above bin is the `root` for the Automation API's PulumiCommand.get().
set -euo pipefail

PULUMI_VERSION=v3.248.0
INSTALL_DOCS="https://www.pulumi.com/docs/install/"

scripts_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$scripts_dir")"
src_dir="$scripts_dir/pulumi-cli"
shim="$repo_dir/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
job= # pid of the running go command during a build

log() { echo "ensure-pulumi: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

usage() {
	sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit "${1:-0}"
}

mode=print
case "${1:-}" in
--run)
	mode=run
	shift
	[[ "${1:-}" == "--" ]] && shift
	;;
-h | --help) usage 0 ;;
"") ;;
*) usage 2 ;;
esac

# Runs "${@:3}" in $src_dir with its output in file $1, printing "still $2"
# to stderr every minute until it ends.
run_logged() {
	local logfile=$1 what=$2 start=$SECONDS rc=0
	shift 2
	(cd "$src_dir" && exec "$@") >"$logfile" 2>&1 &
	job=$!
	while ! wait_for "$job" 60; do
		log "  ... still $what ($(((SECONDS - start) / 60)) min so far)"
	done
	wait "$job" || rc=$?
	job=
	return "$rc"
}

# Waits up to $2 seconds for process $1; fails if it is still running.
wait_for() {
	local i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 1
	done
	return 1
}

install_shim() {
	local bin=$1
	[[ -f "$shim" ]] || die "$shim not found: run \`npm install\` in $repo_dir first"
	if ! cmp -s "$shim" "$bin/pulumi-resource-pulumi-nodejs"; then
		cp "$shim" "$bin/.pulumi-resource-pulumi-nodejs.tmp"
		chmod 755 "$bin/.pulumi-resource-pulumi-nodejs.tmp"
		mv -f "$bin/.pulumi-resource-pulumi-nodejs.tmp" "$bin/pulumi-resource-pulumi-nodejs"
	fi
}

# Names the first module the go command could not fetch, from its output in file $1.
failed_module() {
	grep -oE '[A-Za-z0-9][A-Za-z0-9._~/-]*@v[0-9][A-Za-z0-9.+-]*' "$1" | head -n 1
}

build_cli() {
	local dest=$1 tmp ldflags module
	command -v go >/dev/null ||
		die "Go (>= 1.25) is needed to build the Pulumi CLI. Install Go, or install Pulumi ($INSTALL_DOCS) and put pulumi and pulumi-language-nodejs on PATH."

	mkdir -p "$(dirname "$dest")"
	tmp="$(mktemp -d "$(dirname "$dest")/.build-XXXXXX")"
	# An interrupted build leaves nothing behind: stop the running go command, drop the temp dir.
	# shellcheck disable=SC2064 # expand $tmp now
	trap "[[ -z \${job:-} ]] || kill \$job 2>/dev/null; rm -rf '$tmp'" EXIT
	trap 'exit 130' INT TERM HUP
	chmod 755 "$tmp"
	mkdir "$tmp/bin"

	log "building pulumi CLI $PULUMI_VERSION from Go modules (first run takes ~20 minutes on 2 cores, cached afterwards in $dest)"
	log "downloading Go modules (about 1.5 GB into $(go env GOMODCACHE))"
	if ! run_logged "$tmp/go.log" "downloading" go mod download; then
		tail -n 30 "$tmp/go.log" >&2
		module="$(failed_module "$tmp/go.log")"
		die "could not download Go module ${module:-(see the output above)} through GOPROXY=$(go env GOPROXY). Install Pulumi instead ($INSTALL_DOCS) and put pulumi and pulumi-language-nodejs on PATH."
	fi

	# CGO_ENABLED=0: static binaries, no C compiler needed. -buildvcs=false: the sources sit in this git repo.
	export CGO_ENABLED=0
	ldflags="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
	log "compiling pulumi (the long part)"
	if ! run_logged "$tmp/go.log" "compiling pulumi" go build -trimpath -buildvcs=false -ldflags "$ldflags" \
		-o "$tmp/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi; then
		tail -n 30 "$tmp/go.log" >&2
		module="$(failed_module "$tmp/go.log")"
		die "building the pulumi CLI failed${module:+ (first module named: $module)}. Install Pulumi instead ($INSTALL_DOCS)."
	fi
	log "compiling pulumi-language-nodejs"
	if ! run_logged "$tmp/go.log" "compiling pulumi-language-nodejs" go build -trimpath -buildvcs=false -ldflags "$ldflags" \
		-o "$tmp/bin/pulumi-language-nodejs" ./langhost; then
		tail -n 30 "$tmp/go.log" >&2
		die "building pulumi-language-nodejs failed"
	fi
	rm -f "$tmp/go.log"
	install_shim "$tmp/bin"
	go version >"$tmp/BUILD-INFO"
	echo "sources: $src_dir" >>"$tmp/BUILD-INFO"

	# Publish atomically; a concurrent build may have won the race, which is fine.
	if ! mv -T "$tmp" "$dest" 2>/dev/null; then
		[[ -x "$dest/bin/pulumi" ]] || die "could not move the build into $dest"
		rm -rf "$tmp"
	fi
	trap - EXIT INT TERM HUP
	log "done: $dest/bin"
}

# Sets $bin to the directory holding pulumi and its plugins, building them if needed.
# (Not run in a $(...) subshell, so the build's traps belong to this script's process.)
find_bin() {
	local hash dest
	if [[ -z "${PULUMI_ENS_CLI_FORCE_BUILD:-}" ]] &&
		command -v pulumi >/dev/null && command -v pulumi-language-nodejs >/dev/null; then
		bin="$(dirname "$(command -v pulumi)")"
		return
	fi
	hash="$(cd "$src_dir" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) |
		LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)"
	dest="${PULUMI_ENS_CLI_CACHE:-$HOME/.cache/pulumi-ens-keypair}/cli/$PULUMI_VERSION-$hash"
	if [[ ! -x "$dest/bin/pulumi" || ! -x "$dest/bin/pulumi-language-nodejs" ]]; then
		build_cli "$dest"
	fi
	install_shim "$dest/bin"
	bin="$dest/bin"
}

find_bin

if [[ "$mode" == print ]]; then
	echo "$bin"
	exit 0
fi

export PATH="$bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK="${PULUMI_SKIP_UPDATE_CHECK:-true}"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-true}"
# `npm run pulumi` runs scripts from the package root; run pulumi where the user typed the command.
cd "${INIT_CWD:-$PWD}"
exec pulumi "$@"
