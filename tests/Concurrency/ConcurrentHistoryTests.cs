using System.Text;
using Xunit.Abstractions;

namespace Fusion.Tests.Concurrency;

/// <summary>Runs alone: its unobserved-exception listener and its timings must not see other tests' work.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConcurrencyCollection
{
    public const string Name = "Concurrency (alone)";
}

/// <summary>
/// Random concurrent workloads on real threads and the real clock, each recorded as a history and checked
/// against invariants 10–12 (SEMANTICS.md §3.6). A seed fixes the workload's choices, not the schedule;
/// re-run one with <c>FUSION_CHECK_SEED=&lt;seed&gt;</c>.
/// </summary>
[Collection(ConcurrencyCollection.Name)]
public sealed class ConcurrentHistoryTests(ITestOutputHelper output)
{
    private const int Shown = 20;

    [Theory]
    [InlineData(1)]
    [InlineData(20_240_601)]
    [InlineData(777)]
    [InlineData(4242)]
    public Task Seeded_workload_keeps_the_invariants(int seed) => Check(seed);

    [Fact]
    public Task Workload_from_FUSION_CHECK_SEED_keeps_the_invariants()
    {
        var text = Environment.GetEnvironmentVariable("FUSION_CHECK_SEED");
        if (string.IsNullOrWhiteSpace(text)) return Task.CompletedTask; // nothing asked
        Assert.True(int.TryParse(text, out var seed), $"FUSION_CHECK_SEED is not an integer: '{text}'");
        return Check(seed);
    }

    private async Task Check(int seed)
    {
        var history = await Workload.Run(seed);
        var results = HistoryChecks.All(history);
        output.WriteLine(Summary(seed, history, results));
        if (Environment.GetEnvironmentVariable("FUSION_CHECK_DUMP") is not null)
            foreach (var c in history.Calls) output.WriteLine("DUMP " + c);
        var total = results.Sum(r => r.Violations.Count);
        if (total == 0) return;
        // The first few of every broken rule, up to about Shown in all.
        var broken = results.Where(r => r.Violations.Count > 0).ToList();
        var each = Math.Max(1, (Shown + broken.Count - 1) / broken.Count);
        var shown = broken.SelectMany(r => r.Violations.Take(each).Select(v => $"[{r.Rule}] {v}")).ToList();
        var report = new StringBuilder()
            .AppendLine($"seed {seed}: {total} violation(s)")
            .AppendLine(Summary(seed, history, results))
            .AppendLine($"the first {each} of each broken rule:");
        foreach (var v in shown) report.AppendLine("  " + v);
        report.AppendLine($"re-run: FUSION_CHECK_SEED={seed} dotnet test tests/FusionCache.Tests.csproj -c Release " +
                          "--filter \"FullyQualifiedName~Workload_from_FUSION_CHECK_SEED\"");
        throw new Xunit.Sdk.XunitException(report.ToString());
    }

    private static string Summary(int seed, History history, IReadOnlyList<(string Rule, IReadOnlyList<string> Violations)> results) =>
        $"seed {seed}: {history.Calls.Count} calls, {history.Factories.Count} factory runs; violations per rule: " +
        string.Join("; ", results.Select(r => $"{r.Rule}: {r.Violations.Count}"));
}
