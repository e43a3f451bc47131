using System.Diagnostics;
using System.Globalization;
using Fusion.Tests.Redis.Support;

namespace Fusion.Bench;

/// <summary>
/// Backplane propagation latency (<c>--propagation</c>): two nodes, A and B, each with its own connection to
/// one <c>redis-server</c> on loopback. Each round A <c>Set</c>s the key to the round's number while B holds
/// the previous one, fresh, in its L1; a stopwatch started just before A's <c>Set</c> is read (1) when B's
/// backplane has applied A's notice (its <c>Applied</c> counter moves) and (2) when B's <c>TryGet</c> returns
/// the new number, which it reads from L2 once the notice has invalidated its L1 copy. B polls on this
/// thread, yielding between polls; a round gives up after one second.
/// </summary>
internal static class Propagation
{
    private const string Key = "propagation:key";
    private const int WarmupRounds = 200;
    public const int Rounds = 2_000;
    private static readonly TimeSpan RoundBound = TimeSpan.FromSeconds(1);

    public static async Task Run(string resultsDirectory)
    {
        await using var server = await RedisServer.StartAsync();
        using var a = new FusionCacheBuilder().WithDuration(Caches.Duration).WithRedis(server.ConnectionString(), "propagation").Build();
        using var b = new FusionCacheBuilder().WithDuration(Caches.Duration).WithRedis(server.ConnectionString(), "propagation").Build();
        await Redis.WaitUntilInL2(a, Key, -1);
        await WaitUntilSubscribed(a, b);

        var applied = new List<double>(Rounds);
        var visible = new List<double>(Rounds);
        var timeouts = 0;
        for (var i = 0; i < WarmupRounds + Rounds; i++)
        {
            var (toApplied, toVisible) = await Round(a, b, i);
            if (i < WarmupRounds) continue;
            if (toVisible is null) { timeouts++; continue; }
            applied.Add(toApplied ?? double.NaN);
            visible.Add(toVisible.Value);
        }

        var rows = new[] { ("notice applied on B", applied.Where(double.IsFinite).ToList()), ("value visible on B", visible) };
        Console.WriteLine($"Backplane propagation, {Rounds:N0} rounds after {WarmupRounds} warm-up, {Environment.ProcessorCount} cores, redis-server on loopback; {timeouts} rounds timed out (> {RoundBound.TotalMilliseconds:0} ms)");
        Console.WriteLine($"{"",-22} {"p50 µs",9} {"p90 µs",9} {"p99 µs",9} {"max µs",9} {"mean µs",9}");
        Directory.CreateDirectory(resultsDirectory);
        var csv = new List<string> { "Measure,Rounds,Timeouts,P50_us,P90_us,P99_us,Max_us,Mean_us" };
        foreach (var (name, samples) in rows)
        {
            samples.Sort();
            double P(double q) => samples[Math.Min(samples.Count - 1, (int)Math.Ceiling(q * samples.Count) - 1)];
            var (p50, p90, p99, max, mean) = (P(0.50), P(0.90), P(0.99), samples[^1], samples.Average());
            Console.WriteLine($"{name,-22} {p50,9:F1} {p90,9:F1} {p99,9:F1} {max,9:F1} {mean,9:F1}");
            csv.Add(string.Join(',', name, samples.Count, timeouts, F(p50), F(p90), F(p99), F(max), F(mean)));
        }
        var path = Path.Combine(resultsDirectory, "propagation.csv");
        File.WriteAllLines(path, csv);
        Console.WriteLine($"wrote {path}");
    }

    /// <summary>One round: A writes <paramref name="i"/>; microseconds until B applied the notice and until B reads it (null on timeout).</summary>
    private static async Task<(double?, double?)> Round(Fusion.FusionCache a, Fusion.FusionCache b, int i)
    {
        var backplane = b.Distributed!.Backplane;
        var before = Interlocked.Read(ref backplane.Applied);
        double? toApplied = null;
        var clock = Stopwatch.StartNew();
        await a.Set(Key, i);
        while (clock.Elapsed < RoundBound)
        {
            if (toApplied is null && Interlocked.Read(ref backplane.Applied) != before) toApplied = Micros(clock);
            var seen = await b.TryGet<int>(Key);
            if (seen.IsSome && (int)seen == i)
            {
                var toVisible = Micros(clock);
                return (toApplied ?? toVisible, toVisible); // a notice applied between the last two checks
            }
            Thread.Yield();
        }
        // Resynchronise: let B catch up before the next round, so that one late notice does not spill over.
        await Task.Delay(RoundBound);
        return (null, null);
    }

    /// <summary>Waits until B's backplane hears A (the subscription is made in the background on connect).</summary>
    private static async Task WaitUntilSubscribed(Fusion.FusionCache a, Fusion.FusionCache b)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var before = Interlocked.Read(ref b.Distributed!.Backplane.Applied);
        while (Interlocked.Read(ref b.Distributed!.Backplane.Applied) == before)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("node B's backplane did not hear node A within 10 s");
            await a.Set(Key, -1);
            await Task.Delay(20);
        }
        // B must hold the starting value in L1 before the first round.
        while (!(await b.TryGet<int>(Key)).Match(Some: v => v == -1, None: () => false))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("node B did not read the starting value within 10 s");
            await Task.Delay(5);
        }
    }

    private static double Micros(Stopwatch clock) => clock.Elapsed.Ticks / 10.0;

    private static string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
}
