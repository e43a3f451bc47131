#!/usr/bin/env bash
# Runs the benchmark suite, the hit-ratio replay, the backplane propagation, memory per entry, multi-node throughput
# and the chart. See bench/README.md.
# RedisBenchmarks, --propagation and --multi-node start a local redis-server (apt-get install redis-server).
#   bench/run.sh quick [BenchmarkDotNet args]   ShortRun job, 5 iterations (3 warm-ups): 5–6 minutes with the hit-ratio and propagation modes (build included)
#   bench/run.sh full  [BenchmarkDotNet args]   BenchmarkDotNet's default job: about 40 minutes
# Extra arguments go to BenchmarkDotNet, e.g. `bench/run.sh quick --filter '*Hit*'`.
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-quick}"
shift $(( $# > 0 ? 1 : 0 ))
case "$mode" in
  quick) job=(--job short --iterationCount 5); multinode=short ;;
  full) job=(); multinode=long ;;
  *) echo "usage: $0 quick|full [BenchmarkDotNet arguments]" >&2; exit 2 ;;
esac
filter=(--filter '*')
for arg in "$@"; do [[ "$arg" == --filter ]] && filter=(); done

results=BenchmarkDotNet.Artifacts/results
dotnet build -c Release
dotnet run -c Release --no-build -- "${filter[@]}" "${job[@]}" "$@"
dotnet run -c Release --no-build -- --hit-ratio "$results"
dotnet run -c Release --no-build -- --propagation "$results"
dotnet run -c Release --no-build -- --memory-per-entry "$results" 3
dotnet run -c Release --no-build -- --multi-node "$multinode" "$results"
dotnet run -c Release --no-build -- --chart "$results" ../docs/benchmarks.svg
