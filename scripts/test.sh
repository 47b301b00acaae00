#!/usr/bin/env bash
# Runs every test of the workspace against real services: PostgreSQL on 127.0.0.1:5432
# (started here if it is stopped) and a local S3-compatible server (moto) started by the tests.
set -euo pipefail
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=1
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
bash scripts/ensure-services.sh
npx tsc -p tsconfig.json --noEmit
files=$(ls packages/*/test/*.test.ts)
node --import tsx --test --test-concurrency=2 $files
