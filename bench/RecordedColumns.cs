using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Fusion.Bench;

/// <summary>
/// Counts a benchmark process records (factory calls, misses) and the host shows as columns. Each
/// benchmark runs in a process of its own, so the counts travel through a file per benchmark case,
/// named by the method and its parameter values.
/// </summary>
internal static class Recorded
{
    /// <summary>Where the counts are written; the host empties it before a run.</summary>
    public static readonly string Directory = Path.Combine(Path.GetTempPath(), "fusion-bench-counts");

    public static void Clear()
    {
        if (System.IO.Directory.Exists(Directory)) System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>Called in the benchmark process, from a global cleanup.</summary>
    public static void Write(string method, string value, params object[] parameters)
    {
        System.IO.Directory.CreateDirectory(Directory);
        File.WriteAllText(PathOf(method, parameters.Select(p => Convert.ToString(p, CultureInfo.InvariantCulture))), value);
    }

    /// <summary>Called in the host: the value the benchmark case recorded, or "?" if it recorded none.</summary>
    public static string Read(BenchmarkCase benchmarkCase)
    {
        var path = PathOf(benchmarkCase.Descriptor.WorkloadMethod.Name,
            benchmarkCase.Parameters.Items.Select(p => Convert.ToString(p.Value, CultureInfo.InvariantCulture)));
        return File.Exists(path) ? File.ReadAllText(path) : "?";
    }

    private static string PathOf(string method, IEnumerable<string?> parameters) =>
        Path.Combine(Directory, method + string.Concat(parameters.Select(p => "_" + p)) + ".txt");
}

/// <summary>A custom column whose value is a function of the summary and the benchmark case.</summary>
internal sealed class CustomColumn(string name, string legend, Func<Summary, BenchmarkCase, string> value) : IColumn
{
    /// <summary>What each benchmark case recorded with <see cref="Recorded.Write"/>.</summary>
    public static CustomColumn Recorded(string name, string legend) => new(name, legend, static (_, c) => Bench.Recorded.Read(c));

    /// <summary>The mean time over a fixed duration, e.g. a stampede's wall time over its factory's.</summary>
    public static CustomColumn MeanOver(string name, TimeSpan reference) =>
        new(name, $"Mean time / {reference.TotalMilliseconds} ms", (summary, c) =>
            summary[c]?.ResultStatistics is { } stats
                ? (stats.Mean / (reference.TotalMilliseconds * 1e6)).ToString("0.000", CultureInfo.InvariantCulture)
                : "?");

    /// <summary>How many times faster than <paramref name="method"/> with the same parameters: its mean ÷ this case's.</summary>
    public static CustomColumn SpeedOver(string name, string method) =>
        new(name, $"Throughput over {method}'s with the same parameters (its mean / this mean)", (summary, c) =>
        {
            var other = summary.BenchmarksCases.FirstOrDefault(o =>
                o.Descriptor.WorkloadMethod.Name == method && o.Parameters.DisplayInfo == c.Parameters.DisplayInfo);
            return other is not null && summary[other]?.ResultStatistics is { } theirs && summary[c]?.ResultStatistics is { } ours
                ? (theirs.Mean / ours.Mean).ToString("0.00", CultureInfo.InvariantCulture) + "×"
                : "?";
        });

    /// <summary>Operations per second, in millions, from the mean time of one operation (1e3 / Mean in ns).</summary>
    public static CustomColumn Throughput(string name) =>
        new(name, "Millions of operations per second over all threads: 1e3 / Mean(ns)", (summary, c) =>
            summary[c]?.ResultStatistics is { } stats ? (1e3 / stats.Mean).ToString("0.00", CultureInfo.InvariantCulture) : "?");

    public string Id => nameof(CustomColumn) + "." + ColumnName;
    public string ColumnName => name;
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => false;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => legend;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => value(summary, benchmarkCase);
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => value(summary, benchmarkCase);
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}

/// <summary>The stampede columns: factory calls per operation and wall time over the factory's duration.</summary>
internal sealed class StampedeConfig : ManualConfig
{
    public StampedeConfig() => AddColumn(
        CustomColumn.Recorded("Factory calls", "Factory calls per stampede, min-max over every invocation (warm-up included)"),
        CustomColumn.MeanOver("Wall / factory", StampedeBenchmarks.FactoryTime));
}

/// <summary>The contention column: the share of reads that ran the factory.</summary>
internal sealed class ContentionConfig : ManualConfig
{
    public ContentionConfig() => AddColumn(
        CustomColumn.Recorded("Miss %", "Reads that ran the factory, over every invocation"),
        CustomColumn.SpeedOver("× HybridCache", nameof(ContentionBenchmarks.HybridCache_GetOrCreateAsync)),
        CustomColumn.Throughput("Mreads/s"));
}
