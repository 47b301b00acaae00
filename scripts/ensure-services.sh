#!/usr/bin/env bash
# Makes sure the services the tests talk to are up: PostgreSQL and the moto S3 server binary.
set -euo pipefail
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if ! command -v moto_server >/dev/null 2>&1; then
  echo "installing moto (S3-compatible test server)" >&2
  pip install --quiet 'moto[server]'
fi
if ! python3 -c 'import pyarrow.flight' >/dev/null 2>&1; then
  echo "installing pyarrow (an independent Arrow Flight client for the FlightSQL tests)" >&2
  pip install --quiet pyarrow
fi
