#!/usr/bin/env bash
# `npm run invoke-local -- FUNCTION 'EVENT'`: one function on one event, on this machine, as the
# original service's `serverless invoke local -f FUNCTION -d 'EVENT'` did. That command needs
# Docker for a custom runtime (provided.al2023); this runs the same binary's `invoke` instead,
# against the local store in DATA_DIR (default ./data), or on DynamoDB and SNS when DYNAMODB_TABLE
# is set. TICKET_BOOKING_BINARY names another binary than build/ticket-booking (`make build`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -ne 2 ]; then
  echo "usage: npm run invoke-local -- FUNCTION 'EVENT-JSON'" >&2
  exit 2
fi
binary=${TICKET_BOOKING_BINARY:-$root/build/ticket-booking}
[ -x "$binary" ] || { echo "no binary at $binary: run make build first" >&2; exit 1; }
exec "$binary" invoke "$1" --data "$2" --data-dir "${DATA_DIR:-./data}"
