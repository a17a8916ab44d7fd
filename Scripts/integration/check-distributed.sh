#!/usr/bin/env bash
# The MPI training tests (Tests/DistributedTests, MPITrainingTests): 2-rank jobs under mpirun on
# loopback. Run here, alone, after the parallel `swift test`, so their two processes do not
# compete with the other suites' wall-clock hang guards on a 2-core machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export PATH="/opt/swift/usr/bin:$PATH"
log=$(mktemp /tmp/tandem-mpi-tests.XXXXXX)
set +e
TANDEM_MPI_TESTS=1 swift test --skip-build --filter MPITrainingTests >"$log" 2>&1
status=$?
set -e
grep -E "^(✘|✔) (Test|Suite)|^(✘|✔) Test run with|skipped" "$log" | grep -vE "^✔ Test .*started" || true
if [[ $status -ne 0 ]] || ! grep -qE "Test run with [0-9]+ tests? (in [0-9]+ suites? )?passed" "$log"; then
  echo "check-distributed: MPI tests failed (log: $log)" >&2
  exit 1
fi
rm -f "$log"
