using BenchmarkDotNet.Running;
using Fusion.Bench;

// Modes (see bench/README.md):
//   --hit-ratio [results dir]         replay 8 seeded Zipf traces, print the hit ratios (mean, min, max), write hit-ratio.csv
//   --chart <results dir> [svg path]  draw the SVG from BenchmarkDotNet's *-report.csv and hit-ratio.csv
//   --propagation [results dir]       backplane propagation latency between two nodes on a local
//                                     redis-server: print p50/p90/p99/max, write propagation.csv
//   --memory-per-entry [results dir] [repeats]
//                                     retained managed bytes per entry, 100,000 entries, each cache in fresh
//                                     processes (3 by default), median: print a table, write memory-per-entry.csv
//   --multi-node [short|long] [results dir]
//                                     three nodes over one local redis-server with the backplane, 90% reads /
//                                     10% writes: ops/s per cache, fresh/stale reads, convergence; multi-node-*.csv
//   anything else                     BenchmarkDotNet, e.g. `--filter *Hit* --job short`
const string DefaultResults = "BenchmarkDotNet.Artifacts/results";
switch (args)
{
    case ["--hit-ratio", .. var rest]:
        HitRatio.Run(rest.Length > 0 ? rest[0] : DefaultResults);
        break;
    case ["--propagation", .. var rest]:
        await Propagation.Run(rest.Length > 0 ? rest[0] : DefaultResults);
        break;
    case ["--memory-per-entry", .. var rest]:
        MemoryPerEntry.Run(rest.Length > 0 ? rest[0] : DefaultResults, rest.Length > 1 ? int.Parse(rest[1], System.Globalization.CultureInfo.InvariantCulture) : 3);
        break;
    case ["--memory-per-entry-one", var cache]:
        await MemoryPerEntry.RunOne(cache);
        break;
    case ["--multi-node", .. var rest]:
        await MultiNode.Run(rest.Length > 0 ? rest[0] : "short", rest.Length > 1 ? rest[1] : DefaultResults);
        break;
    case ["--chart", var results, .. var rest]:
        Chart.Write(results, rest.Length > 0 ? rest[0] : "../docs/benchmarks.svg");
        break;
    default:
        Recorded.Clear(); // the counts of an earlier run must not show in this one's columns
        BenchmarkSwitcher.FromAssembly(typeof(Caches).Assembly).Run(args);
        break;
}
