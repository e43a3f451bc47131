using System.Diagnostics;
using Fusion;
using LanguageExt;

namespace Demo;

/// <summary>
/// The source becomes slow: the soft timeout hands callers the previous value in ~100 ms, while the
/// factory finishes in the background and updates the cache.
/// </summary>
internal static class SlowSourceScene
{
    private static readonly TimeSpan Duration = TimeSpan.FromMilliseconds(1000);
    private static readonly TimeSpan SoftTimeout = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan SlowQuery = TimeSpan.FromMilliseconds(1000);

    public static async Task Run()
    {
        using var cache = new FusionCacheBuilder()
            .WithDuration(Duration)
            .WithFailSafe(maxDuration: TimeSpan.FromMinutes(5), throttle: TimeSpan.FromSeconds(5))
            .WithFactoryTimeouts(soft: SoftTimeout)
            .Build();
        var factoryCalls = 0;
        var queryTime = TimeSpan.FromMilliseconds(10);
        var version = 0;

        // The "report service": fast at first, then takes a second per query.
        async Task<Either<Err, string>> LoadReport()
        {
            Interlocked.Increment(ref factoryCalls);
            await Task.Delay(queryTime);
            return Either<Err, string>.Right($"report v{Interlocked.Increment(ref version)}");
        }

        Console.WriteLine($"  Duration {Duration.TotalMilliseconds} ms, fail-safe on, soft timeout {SoftTimeout.TotalMilliseconds} ms");
        var clock = Stopwatch.StartNew();
        var first = await cache.GetOrSet("report", LoadReport);
        Show.Line(clock, $"fast source: read -> {Show.Value(first)}  (factory calls: {factoryCalls})");

        await Task.Delay(Duration + TimeSpan.FromMilliseconds(50));
        queryTime = SlowQuery;
        Show.Line(clock, $"entry expired; the source now takes {SlowQuery.TotalMilliseconds} ms per query");

        var started = clock.ElapsedMilliseconds;
        var cut = await cache.GetOrSet("report", LoadReport);
        Show.Line(clock, $"read -> {Show.Value(cut)} in {clock.ElapsedMilliseconds - started} ms (soft timeout; the factory keeps running)  (factory calls: {factoryCalls})");

        await Task.Delay(400);
        var meanwhile = await cache.GetOrSet("report", LoadReport);
        Show.Line(clock, $"read while the query still runs -> {Show.Value(meanwhile)}  (factory calls: {factoryCalls})");

        await Task.Delay(SlowQuery - TimeSpan.FromMilliseconds(300)); // ~200 ms after the query finished
        started = clock.ElapsedMilliseconds;
        var later = await cache.GetOrSet("report", LoadReport);
        Show.Line(clock, $"read after it completed in the background -> {Show.Value(later)} in {clock.ElapsedMilliseconds - started} ms  (factory calls: {factoryCalls}: not called again)");
    }
}
