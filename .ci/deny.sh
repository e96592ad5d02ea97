#!/usr/bin/env bash
# Supply-chain checks with cargo-deny (configuration: deny.toml at the root).
#
#   licenses    every dependency's license is on the allow list
#   bans        no banned crates; several versions of one crate are warnings
#   sources     every crate comes from crates.io (no git, no other registry)
#   advisories  no dependency has a RustSec advisory (security, unmaintained,
#               yanked); needs the advisory database from GitHub
#
# cargo-deny is installed once into $HOME/.cache/tasker/tools and reused.
# The advisory database is cloned from GitHub: when GitHub cannot be reached,
# the advisories check is skipped with a message saying so, and the other
# checks still run (and must pass).
#
# Usage: .ci/deny.sh            (from anywhere in the repository)
set -euo pipefail

cd "$(dirname "$0")/.."

CARGO_DENY_VERSION="0.20.2"
ADVISORY_DB_URL="https://github.com/rustsec/advisory-db"
TOOLS="$HOME/.cache/tasker/tools"
export PATH="$TOOLS/bin:$PATH"

log() { printf '\n==> %s\n' "$*"; }

# Install the pinned cargo-deny unless it is already there.
installed="$(cargo-deny --version 2>/dev/null || true)"
if [ "$installed" != "cargo-deny $CARGO_DENY_VERSION" ]; then
    log "installing cargo-deny $CARGO_DENY_VERSION into $TOOLS (found: ${installed:-none})"
    # Without CARGO_TARGET_DIR, cargo install builds in a temporary directory
    # it removes afterwards, instead of in the workspace's shared target.
    env -u CARGO_TARGET_DIR \
        cargo install --locked cargo-deny --version "$CARGO_DENY_VERSION" --root "$TOOLS"
fi

# --hide-inclusion-graph: one block per finding instead of the tree of every
# crate that pulls it in (thousands of lines for the duplicate-version
# warnings). For the trees, run: cargo deny --locked check bans
log "cargo deny check licenses bans sources"
cargo deny --locked check --hide-inclusion-graph licenses bans sources

# git ls-remote only lists the remote's refs: a cheap test that the advisory
# database can be fetched. GIT_TERMINAL_PROMPT=0 keeps git from asking for
# credentials; timeout bounds a network that drops packets instead of refusing.
if GIT_TERMINAL_PROMPT=0 timeout 15 git ls-remote --heads "$ADVISORY_DB_URL" >/dev/null 2>&1; then
    log "cargo deny check advisories"
    cargo deny --locked check --hide-inclusion-graph advisories
else
    log "SKIPPED: cargo deny check advisories"
    echo "The RustSec advisory database ($ADVISORY_DB_URL) could not be reached"
    echo "within 15 seconds (git ls-remote failed), so dependencies were NOT checked"
    echo "for security advisories, unmaintained or yanked crates on this run."
    echo "Run .ci/deny.sh on a machine with access to github.com to check them."
fi
