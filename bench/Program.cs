using BenchmarkDotNet.Running;
using Fusion.Bench;

// Modes (see bench/README.md):
//   --hit-ratio [results dir]         replay 8 seeded Zipf traces, print the hit ratios (mean, min, max), write hit-ratio.csv
//   --chart <results dir> [svg path]  draw the SVG from BenchmarkDotNet's *-report.csv and hit-ratio.csv
//   --propagation [results dir]       backplane propagation latency between two nodes on a local
//                                     redis-server: print p50/p90/p99/max, write propagation.csv
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
    case ["--chart", var results, .. var rest]:
        Chart.Write(results, rest.Length > 0 ? rest[0] : "../docs/benchmarks.svg");
        break;
    default:
        Recorded.Clear(); // the counts of an earlier run must not show in this one's columns
        BenchmarkSwitcher.FromAssembly(typeof(Caches).Assembly).Run(args);
        break;
}
