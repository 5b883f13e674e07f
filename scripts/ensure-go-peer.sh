#!/usr/bin/env bash
# Builds the Go SDK peer client (tests/peer/go: our own code driving Alibaba's
# github.com/aliyun/alibaba-cloud-sdk-go services/ens) and prints the binary's path.
#
#   bash scripts/ensure-go-peer.sh       print the path of ens-go-peer, building it if needed
#
# The binary is cached outside the repository in
#   ${PULUMI_ENS_GO_PEER_CACHE:-$HOME/.cache/pulumi-ens-keypair}/go-peer/<hash of tests/peer/go sources>/ens-go-peer
# so the SDK's code and the binary never land in the checkout. A fresh machine needs Go (>= 1.22)
# and the Go module proxy: `go mod download` fetches the SDK (about 220 MB unpacked into GOMODCACHE,
# it holds every Alibaba service), then compiling takes about 1.5 minutes on 2 cores (2 min cold in all).
set -euo pipefail

scripts_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$scripts_dir")"
src_dir="$repo_dir/tests/peer/go"
job= # pid of the running go command during a build

log() { echo "ensure-go-peer: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

case "${1:-}" in
-h | --help)
	sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 0
	;;
"") ;;
*)
	sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac

# Runs "${@:3}" in $src_dir with its output in file $1, printing "still $2" to stderr every minute.
run_logged() {
	local logfile=$1 what=$2 start=$SECONDS rc=0 i
	shift 2
	(cd "$src_dir" && exec "$@") >"$logfile" 2>&1 &
	job=$!
	while :; do
		for ((i = 0; i < 60; i++)); do
			kill -0 "$job" 2>/dev/null || break 2
			sleep 1
		done
		log "  ... still $what ($(((SECONDS - start) / 60)) min so far)"
	done
	wait "$job" || rc=$?
	job=
	return "$rc"
}

# Names the first module the go command could not fetch, from its output in file $1.
failed_module() {
	grep -oE '[A-Za-z0-9][A-Za-z0-9._~/-]*@v[0-9][A-Za-z0-9.+-]*' "$1" | head -n 1
}

build_peer() {
	local dest=$1 tmp module
	command -v go >/dev/null || die "Go (>= 1.22) is needed to build the Go SDK peer client (tests/peer/go)."
	mkdir -p "$(dirname "$dest")"
	tmp="$(mktemp -d "$(dirname "$dest")/.build-XXXXXX")"
	# An interrupted build leaves nothing behind: stop the running go command, drop the temp dir.
	# shellcheck disable=SC2064 # expand $tmp now
	trap "[[ -z \${job:-} ]] || kill \$job 2>/dev/null; rm -rf '$tmp'" EXIT
	trap 'exit 130' INT TERM HUP
	chmod 755 "$tmp"

	log "building the Go SDK peer client into $dest (first run: about 2 minutes on 2 cores)"
	if ! run_logged "$tmp/go.log" "downloading Go modules" go mod download; then
		tail -n 30 "$tmp/go.log" >&2
		module="$(failed_module "$tmp/go.log")"
		die "could not download Go module ${module:-(see the output above)} through GOPROXY=$(go env GOPROXY)"
	fi
	# CGO_ENABLED=0: static binary, no C compiler. -mod=readonly: go.mod/go.sum are used as committed.
	# -buildvcs=false: the sources sit in this git repository.
	if ! CGO_ENABLED=0 run_logged "$tmp/go.log" "compiling" \
		go build -mod=readonly -trimpath -buildvcs=false -o "$tmp/ens-go-peer" .; then
		tail -n 30 "$tmp/go.log" >&2
		die "building tests/peer/go failed"
	fi
	rm -f "$tmp/go.log"
	{
		go version
		echo "sources: $src_dir"
		grep 'github.com/aliyun/alibaba-cloud-sdk-go ' "$src_dir/go.mod" | sed 's/^[[:space:]]*require[[:space:]]*//; s/^[[:space:]]*/sdk: /'
	} >"$tmp/BUILD-INFO"

	# Publish atomically; a concurrent build may have won the race, which is fine.
	if ! mv -T "$tmp" "$dest" 2>/dev/null; then
		[[ -x "$dest/ens-go-peer" ]] || die "could not move the build into $dest"
		rm -rf "$tmp"
	fi
	trap - EXIT INT TERM HUP
	log "done: $dest/ens-go-peer"
}

[[ -f "$src_dir/go.mod" ]] || die "$src_dir/go.mod not found"
hash="$(cd "$src_dir" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) |
	LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)"
dest="${PULUMI_ENS_GO_PEER_CACHE:-$HOME/.cache/pulumi-ens-keypair}/go-peer/$hash"
[[ -x "$dest/ens-go-peer" ]] || build_peer "$dest"
echo "$dest/ens-go-peer"
