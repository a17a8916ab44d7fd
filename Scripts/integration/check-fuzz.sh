#!/usr/bin/env bash
# Runs every libFuzzer target (Fuzz/, see Docs/RELIABILITY.md) for FUZZ_SECONDS (default 30)
# from its seed corpus in Tests/Corpus and fails on any crash, leak, timeout or OOM.
# The instrumented build lives in .build/fuzz and is incremental (cold: a few minutes).
# Usage: check-fuzz.sh [WORK]   (WORK is unused; Scripts/test passes it to every check)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FUZZ_SEED=${FUZZ_SEED:-1} "$ROOT/Scripts/fuzz" all "${FUZZ_SECONDS:-30}"
