using System.Diagnostics;
using Fusion;
using LanguageExt;

namespace Demo;

/// <summary>
/// The source goes down: with fail-safe on, reads keep getting the last good value, and the throttle
/// keeps the cache from hammering the broken source. When the source comes back, the new value is served.
/// </summary>
internal static class OutageScene
{
    private static readonly TimeSpan Duration = TimeSpan.FromMilliseconds(1000);
    private static readonly TimeSpan Throttle = TimeSpan.FromMilliseconds(300);

    public static async Task Run()
    {
        using var cache = new FusionCacheBuilder()
            .WithDuration(Duration)
            .WithFailSafe(maxDuration: TimeSpan.FromMinutes(5), throttle: Throttle)
            .Build();
        var factoryCalls = 0;
        var sourceUp = true;
        var price = 100;

        // The "pricing service": answers with the current price, or fails while it is down.
        Task<Either<Err, int>> LoadPrice()
        {
            Interlocked.Increment(ref factoryCalls);
            return Task.FromResult(sourceUp
                ? Either<Err, int>.Right(price)
                : Either<Err, int>.Left(Err.Of("pricing service unreachable")));
        }

        var clock = Stopwatch.StartNew();
        Console.WriteLine($"  Duration {Duration.TotalMilliseconds} ms, fail-safe on, throttle {Throttle.TotalMilliseconds} ms");

        var first = await cache.GetOrSet("price", LoadPrice);
        Show.Line(clock, $"source up:   read -> {Show.Result(first)}  (factory calls: {factoryCalls})");

        sourceUp = false;
        price = 120; // the source will have a new price when it comes back
        Show.Line(clock, "source goes DOWN");
        await Task.Delay(Duration + TimeSpan.FromMilliseconds(100));

        var stale = await cache.GetOrSet("price", LoadPrice);
        Show.Line(clock, $"after expiry: read -> served stale value {Show.Value(stale)} via fail-safe  (factory calls: {factoryCalls}, the factory failed)");

        var callsBefore = factoryCalls;
        var burst = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => cache.GetOrSet("price", LoadPrice).AsTask()));
        Show.Line(clock, $"100 more reads at once -> values {{{string.Join(", ", burst.Select(Show.Value).Distinct())}}}, " +
                         $"{factoryCalls - callsBefore} factory calls: the throttle keeps the broken source alone");

        await Task.Delay(Throttle + TimeSpan.FromMilliseconds(50));
        var retried = await cache.GetOrSet("price", LoadPrice);
        Show.Line(clock, $"after the throttle: read -> {Show.Value(retried)} again (factory calls: {factoryCalls}: one retry, failed, still down)");

        sourceUp = true;
        Show.Line(clock, "source comes back UP (price is now 120)");
        var throttled = await cache.GetOrSet("price", LoadPrice);
        Show.Line(clock, $"read within the throttle -> {Show.Value(throttled)}  (factory calls: {factoryCalls}: not asked yet)");

        await Task.Delay(Throttle + TimeSpan.FromMilliseconds(50));
        var recovered = await cache.GetOrSet("price", LoadPrice);
        Show.Line(clock, $"after the throttle: read -> {Show.Result(recovered)}  (factory calls: {factoryCalls}: recovered)");
    }
}
