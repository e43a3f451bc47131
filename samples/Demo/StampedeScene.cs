using System.Diagnostics;
using Fusion;
using LanguageExt;

namespace Demo;

/// <summary>1,000 callers ask for the same cold key at once: one factory call serves them all.</summary>
internal static class StampedeScene
{
    private const int Callers = 1_000;

    public static async Task Run()
    {
        using var cache = new FusionCacheBuilder().WithDuration(TimeSpan.FromSeconds(10)).Build();
        var factoryCalls = 0;

        // The "database": 200 ms per query.
        async Task<Either<Err, string>> LoadProduct()
        {
            var call = Interlocked.Increment(ref factoryCalls);
            await Task.Delay(200);
            return Either<Err, string>.Right($"product-42 (loaded by query #{call})");
        }

        var clock = Stopwatch.StartNew();
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var callers = Enumerable.Range(0, Callers)
            .Select(_ => Task.Run(async () => { await go.Task; return await cache.GetOrSet("product:42", LoadProduct); }))
            .ToArray();
        go.SetResult(); // release every caller together
        var results = await Task.WhenAll(callers);
        var wall = clock.ElapsedMilliseconds;

        var served = results.Count(r => r.IsRight);
        var distinct = results.Select(Show.Value).Distinct().ToArray();
        Console.WriteLine($"  callers:         {Callers}");
        Console.WriteLine($"  factory calls:   {factoryCalls}");
        Console.WriteLine($"  callers served:  {served}");
        Console.WriteLine($"  distinct values: {distinct.Length} -> {string.Join(", ", distinct.Select(v => $"\"{v}\""))}");
        Console.WriteLine($"  wall time:       {wall} ms (one 200 ms query, not {Callers} of them)");

        clock.Restart();
        var again = await cache.GetOrSet("product:42", LoadProduct);
        Console.WriteLine($"  a later read:    \"{Show.Value(again)}\" in {clock.Elapsed.TotalMilliseconds:0.000} ms, factory calls still {factoryCalls}");
    }
}
