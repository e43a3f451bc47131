using System.Globalization;

namespace Fusion.Bench;

/// <summary>One row of a BenchmarkDotNet <c>*-report.csv</c>: the benchmark, its parameters ("Threads=2",
/// empty without any) and its mean time in nanoseconds.</summary>
internal sealed record ReportRow(string Method, string Parameters, double MeanNs);

/// <summary>Reads BenchmarkDotNet's CSV reports (times carry their unit: "4.3 ns", "1.2 μs", "51.0 ms").</summary>
internal static class ReportCsv
{
    /// <summary>The rows of one report; <paramref name="parameterNames"/> are its <c>[Params]</c> columns.</summary>
    public static IReadOnlyList<ReportRow> Read(string path, params string[] parameterNames)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).Select(Split).ToList();
        var header = lines[0];
        int Column(string name) => Array.IndexOf(header, name);
        var parameters = parameterNames.Select(Column).Where(i => i >= 0).ToArray();
        return lines.Skip(1).Select(cells => new ReportRow(
            cells[Column("Method")],
            string.Join(", ", parameters.Select(i => $"{header[i]}={cells[i]}")),
            Nanoseconds(cells[Column("Mean")]))).ToList();
    }

    /// <summary>A time as BenchmarkDotNet prints it, in nanoseconds; NaN when it is not a time.</summary>
    public static double Nanoseconds(string text)
    {
        var parts = text.Replace(",", "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) return double.NaN;
        return parts[1] switch
        {
            "ns" => value,
            "μs" or "us" => value * 1e3,
            "ms" => value * 1e6,
            "s" => value * 1e9,
            _ => double.NaN,
        };
    }

    /// <summary>Splits one CSV line, honouring double quotes.</summary>
    private static string[] Split(string line)
    {
        var cells = new List<string>();
        var cell = new System.Text.StringBuilder();
        var quoted = false;
        foreach (var c in line)
        {
            if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted) { cells.Add(cell.ToString()); cell.Clear(); }
            else cell.Append(c);
        }
        cells.Add(cell.ToString());
        return cells.ToArray();
    }
}
