using System.Globalization;
using System.Text;

namespace Fusion.Bench;

/// <summary>
/// Hit ratio under a bounded capacity: a fixed Zipf trace replayed on one thread through each cache's
/// read-through call, with the capacity at 1% and 10% of the key space. A hit ratio is a count, not a
/// time, so this is a plain program mode (<c>--hit-ratio</c>), not a BenchmarkDotNet class. The trace is
/// seeded; .NET randomises string hash codes per process, so the W-TinyLFU sketches (and the numbers)
/// may move by a few hundredths of a point from one run to the next.
/// </summary>
internal static class HitRatio
{
    public const int KeyCount = 100_000;
    public const double Exponent = 0.9;
    public const int TraceLength = 1_000_000;
    public const int Seed = 42;
    public const string FileName = "hit-ratio.csv";
    public static readonly string[] Names = ["Fusion", "ConcurrentLfu", "ConcurrentLru", "MemoryCache"];
    public static readonly int[] CapacityPercents = [1, 10];

    /// <summary>Replays the trace through every cache at every capacity; prints a table and writes the CSV.</summary>
    public static void Run(string resultsDirectory)
    {
        var keys = ZipfTrace.Keys(KeyCount);
        var trace = ZipfTrace.Create(KeyCount, Exponent, TraceLength, Seed);
        Console.WriteLine($"Hit ratio: Zipf s={Exponent} over {KeyCount:N0} keys, {TraceLength:N0} reads, seed {Seed}, one thread");
        Console.WriteLine();
        Console.WriteLine("| Cache | Capacity | Hits | Hit ratio |");
        Console.WriteLine("|---|---:|---:|---:|");
        var csv = new StringBuilder("Cache,CapacityPercent,Capacity,Reads,Hits,HitRatio\n");
        foreach (var percent in CapacityPercents)
        {
            var capacity = KeyCount * percent / 100;
            foreach (var name in Names)
            {
                using var cache = TracedCache.Create(name, capacity);
                foreach (var index in trace) cache.Read(keys[index]);
                var hits = TraceLength - cache.Misses;
                var ratio = (double)hits / TraceLength;
                Console.WriteLine($"| {name} | {capacity:N0} ({percent}%) | {hits:N0} | {ratio:P2} |");
                csv.Append(CultureInfo.InvariantCulture, $"{name},{percent},{capacity},{TraceLength},{hits},{ratio:0.0000}\n");
            }
        }
        Directory.CreateDirectory(resultsDirectory);
        var path = Path.Combine(resultsDirectory, FileName);
        File.WriteAllText(path, csv.ToString());
        Console.WriteLine();
        Console.WriteLine($"Written: {path}");
    }
}
