#!/usr/bin/env bash
# Runs every package's benchmark, each side by side with its peer (see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
bash scripts/ensure-services.sh
for pkg in transit tracing ingestion analytics flightsql; do
  echo "== @micromegas/$pkg"
  npm run --silent -w "@micromegas/$pkg" bench
  echo
done
