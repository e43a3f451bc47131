using System.Diagnostics;
using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>
/// An operator's bad day, compressed: three nodes under load while Redis is SIGKILLed and restarted, paused, and one
/// node is partitioned through a proxy. Redis runs with <c>appendfsync always</c>, so what it acknowledged survives a
/// kill: every loss would be Fusion's. Each key has one writer node (so its program order is the acknowledged
/// order); the others only read. At the end: no caller saw an exception, every key in L2 is its newest acknowledged
/// write (invariant 13, "nothing is lost"), and all three nodes return the same thing for it (invariant 14).
/// Seeded (<c>FUSION_FAULT_SEED</c> to replay one).
/// </summary>
public sealed class FaultRunTests(ITestOutputHelper log) : IAsyncLifetime
{
    private RedisServer? server;

    public async Task InitializeAsync() => server = await RedisServer.StartAsync(["--appendonly", "yes", "--appendfsync", "always"], needsBusPort: false);

    public async Task DisposeAsync()
    {
        if (server is not null) await server.DisposeAsync();
    }

    private sealed record Written(string Op, int Value);

    [Fact]
    public async Task ThreeNodes_KillPausePartition_NothingAcknowledgedIsLost_AndTheNodesConverge()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FUSION_FAULT_SEED"), out var s) ? s : Environment.TickCount;
        log.WriteLine($"seed {seed} (FUSION_FAULT_SEED={seed} replays it)");
        var redis = server!;
        using var proxy = new CuttableProxy(redis.Port);
        Func<FusionCacheBuilder, FusionCacheBuilder> options = b => b.WithDuration(TimeSpan.FromMinutes(5)).WithAutoRecovery(delay: TimeSpan.FromMilliseconds(200));
        using var nodes = Nodes.Start(redis.ConnectionString(), 2, options, log);
        nodes.Add(options, proxy.ConnectionString); // C: the one that gets partitioned
        const int keyCount = 90;
        var newest = new Dictionary<string, Written>[3];
        for (var i = 0; i < 3; i++) newest[i] = [];
        var exceptions = 0;
        long operations = 0;
        using var stop = new CancellationTokenSource();

        async Task Writer(int node, int writerSeed)
        {
            var random = new Random(writerSeed);
            var cache = nodes[node];
            var value = node * 1_000_000;
            while (!stop.IsCancellationRequested)
            {
                // Node n writes keys n, n+3, n+6, …; every node reads every key.
                var mine = $"k{random.Next(keyCount / 3) * 3 + node}";
                var any = $"k{random.Next(keyCount)}";
                try
                {
                    switch (random.Next(6))
                    {
                        case 0 or 1: await cache.Set(mine, ++value); newest[node][mine] = new("set", value); break;
                        case 2: await cache.Remove(mine); newest[node][mine] = new("remove", 0); break;
                        case 3:
                            await cache.Expire(mine);
                            if (newest[node].TryGetValue(mine, out var w) && w.Op == "set") newest[node][mine] = w with { Op = "set+expire" };
                            break;
                        default: await cache.TryGet<int>(any); break;
                    }
                    Interlocked.Increment(ref operations);
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref exceptions);
                    log.WriteLine($"node {node}: {e.GetType().Name}: {e.Message}");
                }
                if (random.Next(20) == 0) await Task.Delay(1);
            }
        }

        var clock = Stopwatch.StartNew();
        var load = Enumerable.Range(0, 3).Select(n => Task.Run(() => Writer(n, seed + n))).ToArray();
        var faults = new Random(seed);
        await Task.Delay(faults.Next(300, 800));
        redis.Kill();
        log.WriteLine($"{clock.ElapsedMilliseconds} ms: Redis SIGKILLed");
        await Task.Delay(faults.Next(500, 1500));
        await redis.RestartAsync();
        log.WriteLine($"{clock.ElapsedMilliseconds} ms: Redis restarted (from its AOF)");
        await Task.Delay(faults.Next(500, 1500));
        await redis.PauseAsync(TimeSpan.FromMilliseconds(1500));
        log.WriteLine($"{clock.ElapsedMilliseconds} ms: Redis paused 1.5 s");
        await Task.Delay(2000);
        proxy.Cut();
        log.WriteLine($"{clock.ElapsedMilliseconds} ms: node C partitioned");
        await Task.Delay(faults.Next(1000, 2000));
        proxy.Resume();
        log.WriteLine($"{clock.ElapsedMilliseconds} ms: node C back");
        await Task.Delay(faults.Next(500, 1000));
        stop.Cancel();
        await Task.WhenAll(load);
        var writes = clock.Elapsed;
        log.WriteLine($"{operations} operations in {writes.TotalSeconds:0.0} s; queued at the end: {string.Join(", ", Enumerable.Range(0, 3).Select(i => nodes[i].Distributed!.PendingRecoveries))}");

        await Poll.Until(() => Task.FromResult(Enumerable.Range(0, 3).All(i => nodes[i].Distributed!.IsReady && nodes[i].Distributed!.PendingRecoveries == 0)),
            TimeSpan.FromSeconds(30), "every node is connected, revalidated and has replayed its queue");
        var drained = clock.Elapsed;

        Assert.Equal(0, exceptions);
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString());
        var db = admin.GetDatabase();
        var now = DateTimeOffset.UtcNow.UtcTicks;
        var lost = new List<string>();
        var diverged = new List<string>();
        // The notifications replayed last may still be on their way: convergence is checked within a bound.
        await Poll.Until(async () =>
        {
            lost.Clear();
            diverged.Clear();
            for (var writer = 0; writer < 3; writer++)
                foreach (var (key, written) in newest[writer])
                {
                    var bytes = (byte[]?)await db.StringGetAsync(nodes.RedisKey(key));
                    var stored = bytes is null ? null : Wire.Decode(bytes);
                    var ok = written.Op switch
                    {
                        "remove" => stored is null || stored.IsTombstone,
                        "set" => stored is { IsTombstone: false } && stored.PayloadText == written.Value.ToString() && stored.LogicalExpiry > now,
                        _ => stored is { IsTombstone: false } && stored.PayloadText == written.Value.ToString() && stored.LogicalExpiry <= now,
                    };
                    if (!ok) lost.Add($"{key}: {written.Op} {written.Value}, L2 {(stored is null ? "empty" : stored.IsTombstone ? "tombstone" : stored.PayloadText)}");
                    var expected = written.Op == "set" ? written.Value.ToString() : "none";
                    for (var n = 0; n < 3; n++)
                    {
                        var got = await nodes[n].TryGet<int>(key);
                        var seen = got.Match(v => v.ToString(), () => "none");
                        if (seen != expected) diverged.Add($"{key}: node {n} returns {seen}, {written.Op} {written.Value} was last");
                    }
                }
            return lost.Count == 0 && diverged.Count == 0;
        }, TimeSpan.FromSeconds(10), "L2 holds every key's newest write and every node returns it").ContinueWith(t => { });
        log.WriteLine($"drained {(drained - writes).TotalSeconds:0.0} s after the load stopped; {newest.Sum(d => d.Count)} keys checked");
        for (var i = 0; i < 3; i++)
        {
            var d = nodes[i].Distributed!;
            log.WriteLine($"node {i}: replayed {d.Replayed}, failed operations {d.FailedOperations}, refused {d.RefusedWrites}, dropped {d.DroppedOperations}, malformed {d.Backplane.Malformed}");
        }
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged writes lost:{Environment.NewLine}{string.Join(Environment.NewLine, lost.Take(20))}");
        Assert.True(diverged.Count == 0, $"{diverged.Count} reads diverge:{Environment.NewLine}{string.Join(Environment.NewLine, diverged.Take(20))}");
    }

    [Fact]
    public async Task ThreeNodesWritingTheSameKeys_ThroughAnEmptyRestart_ConvergeOnWhatL2Holds()
    {
        // After an empty Redis restart every node re-populates the same keys at once: writes race in L2's guard, the
        // refused ones are given up by their writers, and notifications cross. Once the writes stop, every node must
        // return what L2 holds, for every key (invariant 14).
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FUSION_FAULT_SEED"), out var s) ? s : Environment.TickCount;
        log.WriteLine($"seed {seed}");
        var redis = server!;
        using var nodes = Nodes.Start(redis.ConnectionString(), 3, b => b.WithDuration(TimeSpan.FromMinutes(5)).WithAutoRecovery(delay: TimeSpan.FromMilliseconds(200)), log);
        using var stop = new CancellationTokenSource();
        var exceptions = 0;
        async Task Writer(int node)
        {
            var random = new Random(seed + node);
            var value = node * 1_000_000;
            while (!stop.IsCancellationRequested)
            {
                try { await nodes[node].Set($"k{random.Next(100)}", ++value); }
                catch (Exception e) { Interlocked.Increment(ref exceptions); log.WriteLine($"node {node}: {e.Message}"); }
                if (random.Next(10) == 0) await Task.Delay(1);
            }
        }
        var load = Enumerable.Range(0, 3).Select(n => Task.Run(() => Writer(n))).ToArray();
        try
        {
            await Task.Delay(500);
            redis.Kill();
            await redis.RestartAsync(); // AOF: it comes back with what it had; the nodes' queued writes race in on top
            // And then empty, as a Redis that lost its data (once it has loaded its AOF: until then it answers LOADING).
            await Poll.Until(async () =>
            {
                try { await redis.SendAsync("FLUSHALL"); return true; }
                catch (InvalidOperationException e) when (e.Message.Contains("LOADING", StringComparison.Ordinal)) { return false; }
            }, TimeSpan.FromSeconds(10), "Redis has loaded its AOF and is flushed");
            await Task.Delay(1500);
        }
        finally
        {
            stop.Cancel(); // also when a step above failed: no writer may outlive the nodes
            await Task.WhenAll(load);
        }
        Assert.Equal(0, exceptions);
        await Poll.Until(() => Task.FromResult(Enumerable.Range(0, 3).All(i => nodes[i].Distributed!.IsReady && nodes[i].Distributed!.PendingRecoveries == 0)),
            TimeSpan.FromSeconds(30), "every node is ready and has replayed its queue");

        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString());
        var db = admin.GetDatabase();
        var diverged = new List<string>();
        var clock = Stopwatch.StartNew();
        await Poll.Until(async () =>
        {
            diverged.Clear();
            for (var k = 0; k < 100; k++)
            {
                var key = $"k{k}";
                var bytes = (byte[]?)await db.StringGetAsync(nodes.RedisKey(key));
                var inL2 = bytes is null ? "none" : Wire.Decode(bytes).PayloadText;
                for (var n = 0; n < 3; n++)
                {
                    var seen = (await nodes[n].TryGet<int>(key)).Match(v => v.ToString(), () => "none");
                    if (seen != inL2) diverged.Add($"{key}: node {n} returns {seen}, L2 holds {inL2}");
                }
            }
            return diverged.Count == 0;
        }, TimeSpan.FromSeconds(10), "every node returns what L2 holds").ContinueWith(_ => { });
        for (var i = 0; i < 3; i++)
            log.WriteLine($"node {i}: replayed {nodes[i].Distributed!.Replayed}, refused {nodes[i].Distributed!.RefusedWrites}, applied {nodes.Applied(i)}");
        log.WriteLine($"converged check took {clock.ElapsedMilliseconds} ms");
        Assert.True(diverged.Count == 0, $"{diverged.Count} reads diverge from L2:{Environment.NewLine}{string.Join(Environment.NewLine, diverged.Take(20))}");
    }
}
