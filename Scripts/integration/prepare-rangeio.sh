#!/usr/bin/env bash
# Test input for RangeIOTests.ProjectNginxTests: a deterministic 3 MB blob served by the
# loopback nginx of Scripts/test at /rangeio/blob.bin. Usage: prepare-rangeio.sh WORK
set -euo pipefail
WORK=$1
mkdir -p "$WORK/www/rangeio"
/usr/bin/python3 -c "import random,sys; r=random.Random(3); sys.stdout.buffer.write(r.randbytes(3_000_000))" \
  >"$WORK/www/rangeio/blob.bin"
chmod -R a+rX "$WORK/www"
