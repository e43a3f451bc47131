using System.Globalization;
using System.Text;

namespace Fusion.Bench;

/// <summary>
/// Draws docs/benchmarks.svg from the results: one panel per benchmark class (each benchmark's time
/// over its class baseline, log scale, lower is better) and one for the hit ratios (the mean over the
/// seeds, a line from min to max). Fusion's bars are blue, the baseline's dark, the others grey. Plain
/// SVG text, no dependency.
/// </summary>
internal static class Chart
{
    private const int Width = 960, LabelWidth = 330, PlotLeft = LabelWidth + 10, PlotWidth = 520, Row = 22, TitleHeight = 34;
    private const string FusionColour = "#2563eb", BaselineColour = "#374151", OtherColour = "#9ca3af";

    /// <summary>A benchmark class, its baseline and its [Params] columns.</summary>
    private sealed record Panel(string Class, string Title, string Baseline, params string[] Parameters);

    private static readonly Panel[] Panels =
    [
        new("HitBenchmarks", "Hit on a warm key — time ÷ ConcurrentDictionary.TryGetValue", "ConcurrentDictionary_TryGetValue"),
        new("MissBenchmarks", "Miss then set — time ÷ FusionCache", "FusionCache_RemoveThenGetOrSetAsync"),
        new("StampedeBenchmarks", "Stampede: 1,000 callers, 50 ms factory — wall time ÷ FusionCache", "FusionCache_GetOrSetAsync"),
        new("ContentionBenchmarks", "Contention, Zipf reads — time per read ÷ FusionCache", "FusionCache_GetOrSetAsync", "Threads"),
    ];

    /// <summary>Reads <c>*-report.csv</c> and <c>hit-ratio.csv</c> from <paramref name="resultsDirectory"/>; writes the SVG.</summary>
    public static void Write(string resultsDirectory, string svgPath)
    {
        var body = new StringBuilder();
        var y = 40;
        foreach (var panel in Panels)
        {
            var report = Directory.GetFiles(resultsDirectory, $"*.{panel.Class}-report.csv").SingleOrDefault();
            if (report is null) continue;
            y = DrawRatios(body, panel, ReportCsv.Read(report, panel.Parameters), y);
        }
        var hitRatio = Path.Combine(resultsDirectory, HitRatio.FileName);
        if (File.Exists(hitRatio)) y = DrawHitRatios(body, File.ReadAllLines(hitRatio).Select(l => l.Split(',')).ToList(), y);

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{y + 10}" viewBox="0 0 {Width} {y + 10}" font-family="sans-serif" font-size="12">""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<rect width="{Width}" height="{y + 10}" fill="white"/>""").Append('\n');
        svg.Append("""<text x="10" y="22" font-size="16" font-weight="bold">Fusion benchmarks (blue: Fusion; dark: baseline). Time ratios: log scale, lower is better.</text>""").Append('\n');
        svg.Append(body).Append("</svg>\n");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(svgPath))!);
        File.WriteAllText(svgPath, svg.ToString());
        Console.WriteLine($"Written: {svgPath}");
    }

    private static int DrawRatios(StringBuilder svg, Panel panel, IReadOnlyList<ReportRow> rows, int y)
    {
        var ratios = rows.Select(r => (Row: r, Ratio: r.MeanNs / rows.Single(b => b.Method == panel.Baseline && b.Parameters == r.Parameters).MeanNs)).ToList();
        var lo = Math.Log10(Math.Min(1, ratios.Min(r => r.Ratio)) / 1.5);
        var hi = Math.Log10(Math.Max(1, ratios.Max(r => r.Ratio)) * 1.5);
        double X(double ratio) => PlotLeft + (Math.Log10(ratio) - lo) / (hi - lo) * PlotWidth;

        y = Title(svg, panel.Title, y);
        var top = y;
        foreach (var (row, ratio) in ratios)
        {
            var label = row.Parameters.Length == 0 ? row.Method : $"{row.Method} ({row.Parameters})";
            var (x0, x1) = (Math.Min(X(1), X(ratio)), Math.Max(X(1), X(ratio)));
            Text(svg, LabelWidth, y + 15, label, "end");
            svg.Append(F($"""<rect x="{x0:0.#}" y="{y + 4}" width="{Math.Max(1, x1 - x0):0.#}" height="{Row - 8}" fill="{Colour(row.Method, panel.Baseline)}"/>""")).Append('\n');
            Text(svg, (int)x1 + 4, y + 15, F($"{ratio:0.00}×"));
            y += Row;
        }
        // Grid lines at 1, 2 and 5 times each power of ten in range; the baseline's (1×) is dark.
        for (var decade = (int)Math.Floor(lo); decade <= hi; decade++)
        {
            foreach (var step in (int[])[1, 2, 5])
            {
                var tick = step * Math.Pow(10, decade);
                if (Math.Log10(tick) < lo || Math.Log10(tick) > hi) continue;
                var x = X(tick);
                svg.Append(F($"""<line x1="{x:0.#}" y1="{top}" x2="{x:0.#}" y2="{y}" stroke="{(tick == 1 ? "#111" : "#ddd")}"/>""")).Append('\n');
                Text(svg, (int)x, y + 12, F($"{tick:0.##}×"), "middle");
            }
        }
        return y + 24;
    }

    /// <summary>A bar per cache and capacity at the mean over the seeds, with a line from the min to the max.</summary>
    private static int DrawHitRatios(StringBuilder svg, List<string[]> lines, int y)
    {
        // By column name: a hit-ratio.csv from before the seeds (one ratio, no mean) fails here, not as a wrong bar.
        var header = lines[0];
        int Column(string name) => Array.IndexOf(header, name) is >= 0 and var i ? i
            : throw new InvalidDataException($"{HitRatio.FileName} has no {name} column: run --hit-ratio again");
        var (cache, percent, seeds, mean, min, max) = (Column("Cache"), Column("CapacityPercent"), Column("Seeds"), Column("MeanHitRatio"), Column("MinHitRatio"), Column("MaxHitRatio"));
        double Cell(string[] cells, int column) => double.Parse(cells[column], CultureInfo.InvariantCulture);

        var rows = lines.Skip(1).ToList();
        y = Title(svg, $"Hit ratio, mean of {rows[0][seeds]} Zipf traces (line: min–max), capacity 1% and 10% of the keys — higher is better", y);
        var top = y;
        foreach (var cells in rows)
        {
            var (ratio, lo, hi) = (Cell(cells, mean), Cell(cells, min), Cell(cells, max));
            Text(svg, LabelWidth, y + 15, $"{cells[cache]} (capacity {cells[percent]}%)", "end");
            svg.Append(F($"""<rect x="{PlotLeft}" y="{y + 4}" width="{ratio * PlotWidth:0.#}" height="{Row - 8}" fill="{Colour(cells[cache], "")}"/>""")).Append('\n');
            svg.Append(F($"""<line x1="{PlotLeft + lo * PlotWidth:0.#}" y1="{y + Row / 2}" x2="{PlotLeft + hi * PlotWidth:0.#}" y2="{y + Row / 2}" stroke="#111"/>""")).Append('\n');
            Text(svg, PlotLeft + (int)(hi * PlotWidth) + 4, y + 15, F($"{ratio * 100:0.0}% ({lo * 100:0.0}–{hi * 100:0.0})"));
            y += Row;
        }
        for (var tick = 0; tick <= 100; tick += 25)
        {
            var x = PlotLeft + tick * PlotWidth / 100;
            svg.Append(F($"""<line x1="{x}" y1="{top}" x2="{x}" y2="{y}" stroke="#ddd"/>""")).Append('\n');
            Text(svg, x, y + 12, $"{tick}%", "middle");
        }
        return y + 24;
    }

    private static int Title(StringBuilder svg, string title, int y)
    {
        svg.Append(F($"""<text x="10" y="{y + 20}" font-size="14" font-weight="bold">{Escape(title)}</text>""")).Append('\n');
        return y + TitleHeight;
    }

    private static void Text(StringBuilder svg, int x, int y, string text, string anchor = "start") =>
        svg.Append(F($"""<text x="{x}" y="{y}" text-anchor="{anchor}">{Escape(text)}</text>""")).Append('\n');

    private static string Colour(string method, string baseline) =>
        method.StartsWith("Fusion_", StringComparison.Ordinal) || method == "Fusion" ? FusionColour
        : method == baseline ? BaselineColour
        : OtherColour;

    private static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
