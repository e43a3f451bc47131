using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using LanguageExt;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>
/// Redis away (down at start, killed and restarted) or slow (paused): callers keep being served from L1 without waiting,
/// what could not be written is replayed once Redis is back, and nodes converge (SEMANTICS §4, docs/wire-format.md
/// "Recovery"). Each test starts on a fresh, running server.
/// </summary>
public sealed class RedisOutageTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    /// <summary>What "at once" means for a call while Redis is away: far below the client's 2 s timeouts.</summary>
    private static readonly TimeSpan AtOnce = TimeSpan.FromMilliseconds(500);

    private ConnectionMultiplexer? connection;

    public Task InitializeAsync() => redis.ResetAsync();

    public async Task DisposeAsync()
    {
        if (connection is not null) await connection.DisposeAsync();
    }

    /// <summary>A connection of this test's own, closed when it ends: the fixture's live on and reconnect after every
    /// restart, and a reconnect sends a GET (the tie-breaker) that would spoil the counts of GETs.</summary>
    private async Task<ConnectionMultiplexer> Connection() =>
        connection ??= await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration());

    /// <summary>A call cut by a 200 ms timeout returns well before a pause ends: a third of it to spare (timers can fire
    /// late on a busy two-core machine).</summary>
    private static TimeSpan WellBefore(TimeSpan pause) => pause * 2 / 3;

    /// <summary>Whether Redis holds the cache key <paramref name="key"/> (asked over a probe connection).</summary>
    private async Task<bool> InRedis(Nodes nodes, string key) => await redis.Server.SendAsync("EXISTS", nodes.RedisKey(key)) == "1";

    [Fact]
    public async Task RedisDownAtStart_CacheBuildsAndServesFromL1AtOnce_AndQueuedWritesLandOnceItIsUp()
    {
        await redis.Server.StopAsync();
        var clock = Stopwatch.StartNew();
        using var nodes = Nodes.Start(redis.Server.ConnectionString(), 1, b => b.WithDuration(TimeSpan.FromMinutes(1)), log);
        log.WriteLine($"Build() with Redis down: {clock.ElapsedMilliseconds} ms (see Build_WithRedisUnresponsive_…)");
        Assert.False(nodes.A.Distributed!.IsConnected);
        var factory = TestFactory<string>.Returning("computed");

        clock.Restart();
        Assert.Equal("computed", await Expect.Right(nodes.A.GetOrSet<string>("got", factory.Invoke)));
        await nodes.A.Set("set", "written");
        Assert.Equal("computed", await Expect.Right(nodes.A.GetOrSet<string>("got", factory.Invoke)));
        log.WriteLine($"GetOrSet, Set, GetOrSet with Redis down: {clock.ElapsedMilliseconds} ms");
        Assert.True(clock.Elapsed < AtOnce, $"calls with Redis down took {clock.ElapsedMilliseconds} ms");
        Assert.Equal(1, factory.Calls);
        Assert.Equal(2, nodes.A.Distributed!.PendingRecoveries);

        await redis.Server.RestartAsync();
        clock.Restart();
        await Poll.Until(async () => await InRedis(nodes, "got") && await InRedis(nodes, "set"), Nodes.Bound, "the queued writes land in Redis");
        log.WriteLine($"queued writes in Redis {clock.ElapsedMilliseconds} ms after it started");
        await Poll.Until(() => Task.FromResult(nodes.A.Distributed!.PendingRecoveries == 0), Nodes.Bound, "the recovery queue drains");
        Assert.True(Interlocked.Read(ref nodes.A.Distributed!.Replayed) >= 2);

        // The backplane works too, once: the node subscribed after all, and applies each message one time.
        var second = nodes.Add(b => b.WithDuration(TimeSpan.FromMinutes(1)));
        await nodes.WaitSubscribed(await Connection());
        log.WriteLine($"both nodes subscribed {clock.ElapsedMilliseconds} ms after Redis started");
        Assert.Equal("written", await Expect.Right(second.GetOrSet<string>("set", factory.Invoke)));
        var applied = nodes.Applied(0);
        await nodes.Delivered(1, b => b.Set("got", "newer"));
        Assert.Equal("newer", await Expect.Right(nodes.A.GetOrSet<string>("got", factory.Invoke)));
        await nodes.Delivered(0, a => a.Set("set", "newer"));
        await Task.Delay(100); // a second handler would have run by now
        Assert.Equal(applied + 1, nodes.Applied(0));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task Build_WithRedisUnresponsive_DoesNotWaitForTheConnectTimeout()
    {
        // Something listens on the port but never answers (a hung Redis, or a stopped one: with a plain connection
        // string, Build() waits there too, usually the whole connect timeout, sometimes twice).
        var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<Socket>();
        var accepting = Task.Run(async () =>
        {
            try { while (true) accepted.Add(await silent.AcceptSocketAsync()); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException) { } // stopped
        });
        try
        {
            var port = ((IPEndPoint)silent.LocalEndpoint).Port;
            var clock = Stopwatch.StartNew();
            using var cache = new FusionCacheBuilder().WithRedis($"127.0.0.1:{port},connectTimeout=1000", "silent").Build();
            var built = clock.Elapsed;
            Assert.Equal("v", await Expect.Right(cache.GetOrSet<string>("k", TestFactory<string>.Returning("v").Invoke)));
            log.WriteLine($"Build() against a Redis that never answers: {built.TotalMilliseconds:0} ms; then GetOrSet {(clock.Elapsed - built).TotalMilliseconds:0} ms");

            Assert.True(built < AtOnce, $"Build() blocked {built.TotalMilliseconds:0} ms waiting for Redis (connectTimeout=1000)");
        }
        finally
        {
            silent.Stop();
            await accepting;
            foreach (var socket in accepted) socket.Dispose();
        }
    }

    [Fact]
    public async Task RecoveryQueue_KeepsTheLastOperationPerKey_UpToItsBound_DroppingTheOldest()
    {
        using var nodes = Nodes.Start(redis.Server.ConnectionString(), 1, b => b.WithAutoRecovery(maxItems: 2), log);
        redis.Server.Kill();
        await Poll.Until(() => Task.FromResult(!nodes.A.Distributed!.IsConnected), Nodes.Bound, "the node sees Redis gone");

        await nodes.A.Set("first", "1");
        await nodes.A.Set("second", "1");
        await nodes.A.Set("second", "2"); // replaces second's queued write
        await nodes.A.Set("third", "1");  // the queue is full: first is dropped

        Assert.Equal(2, nodes.A.Distributed!.PendingRecoveries);
        Assert.True(await nodes.Log(0).Logged("recovery queue is full"));
        await redis.Server.RestartAsync();
        await Poll.Until(async () => await InRedis(nodes, "second") && await InRedis(nodes, "third"), Nodes.Bound, "the kept writes land");
        Assert.False(await InRedis(nodes, "first"));
        var stored = await (await Connection()).Stored(nodes, "second");
        Assert.Equal("\"2\"", stored.PayloadText);
    }

    [Fact]
    public async Task RedisKilledMidRun_CallersAreServedWithoutErrors_AndWritesMadeMeanwhileLandWhenItIsBack()
    {
        using var nodes = Nodes.Start(redis.Server.ConnectionString(), 2,
            b => b.WithDuration(TimeSpan.FromMinutes(1)).WithFailSafe(throttle: TimeSpan.FromMilliseconds(200)), log);
        await nodes.WaitSubscribed(await Connection());
        var failing = TestFactory<string>.Failing(Values.SourceDown);
        var working = TestFactory<string>.Returning("computed");
        await nodes.Delivered(0, a => a.Set("k", "v1"));
        await nodes.Delivered(0, a => a.Set("stale", "old"));
        await nodes.Delivered(0, a => a.Expire("stale"));
        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", failing.Invoke)));
        Assert.Equal("old", await Expect.Right(nodes.B.GetOrSet<string>("stale", failing.Invoke))); // B's fallback, from L2

        redis.Server.Kill();
        var outage = Stopwatch.StartNew();
        var results = new ConcurrentBag<(string What, Either<Err, string> Result, TimeSpan Took)>();
        async Task Call(string what, Func<ValueTask<Either<Err, string>>> call)
        {
            var took = Stopwatch.StartNew();
            results.Add((what, await call(), took.Elapsed));
        }
        var round = 0;
        while (outage.Elapsed < TimeSpan.FromSeconds(1))
        {
            round++;
            for (var i = 0; i < 2; i++)
            {
                var node = nodes[i];
                await Call($"{i}: fresh k", () => node.GetOrSet<string>("k", failing.Invoke));
                await Call($"{i}: stale, failing factory", () => node.GetOrSet<string>("stale", failing.Invoke));
                await Call($"{i}: new key", () => node.GetOrSet<string>($"new-{i}-{round}", working.Invoke));
            }
            if (round == 3)
            {
                var took = Stopwatch.StartNew();
                await nodes.A.Set("k", "v2");
                results.Add(("0: Set k v2", "v2", took.Elapsed));
            }
            await Task.Delay(50);
        }
        foreach (var failure in results.Where(r => !r.Result.IsRight)) log.WriteLine($"{failure.What}: {failure.Result}");
        var slowest = results.MaxBy(r => r.Took);
        log.WriteLine($"{results.Count} calls while Redis was down; slowest {slowest.What} took {slowest.Took.TotalMilliseconds:0} ms");
        Assert.All(results, r => Assert.True(r.Result.IsRight, $"{r.What}: {r.Result}"));
        Assert.All(results, r => Assert.True(r.Took < AtOnce, $"{r.What} took {r.Took.TotalMilliseconds:0} ms"));
        Assert.Contains(results, r => r.What.Contains("stale") && r.Result == "old");
        Assert.True(nodes.A.Distributed!.PendingRecoveries > 0);

        await redis.Server.RestartAsync(); // empty: every value is gone from Redis
        var back = Stopwatch.StartNew();
        await Poll.Until(() => Task.FromResult(nodes.A.Distributed!.PendingRecoveries == 0 && nodes.B.Distributed!.PendingRecoveries == 0),
            Nodes.Bound, "both recovery queues drain");
        log.WriteLine($"queues drained {back.ElapsedMilliseconds} ms after Redis restarted; replayed A {nodes.A.Distributed!.Replayed}, B {nodes.B.Distributed!.Replayed}");
        Assert.True(nodes.A.Distributed!.Replayed > 0);
        var stored = await (await Connection()).Stored(nodes, "k");
        Assert.Equal("\"v2\"", stored.PayloadText);

        // B had v1 in L1: the replayed notification, or its own revalidation after the reconnect, brings it v2.
        await Poll.Until(async () => (await nodes.B.GetOrSet<string>("k", failing.Invoke)) == "v2", Nodes.Bound, "B converges on v2");
        log.WriteLine($"B returns v2 {back.ElapsedMilliseconds} ms after Redis restarted");
        Assert.Equal("v2", await Expect.Right(nodes.A.GetOrSet<string>("k", failing.Invoke)));
    }

    [Fact]
    public async Task SlowRedis_DistributedHardTimeout_CutsTheReadAndTheWrite()
    {
        // The breaker off: each L2 operation meets the timeout on its own.
        using var nodes = Nodes.Start(redis.Server.ConnectionString(), 1, b => b.WithDuration(TimeSpan.FromMinutes(1)).WithCircuitBreaker(TimeSpan.Zero), log);
        var pause = TimeSpan.FromMilliseconds(3000);
        var hard = new FusionCacheEntryOptions { DistributedCacheHardTimeout = TimeSpan.FromMilliseconds(200) };

        await redis.Server.PauseAsync(pause);
        var clock = Stopwatch.StartNew();
        Assert.Equal("computed", await Expect.Right(nodes.A.GetOrSet<string>("k", TestFactory<string>.Returning("computed").Invoke, hard)));
        log.WriteLine($"GetOrSet during a {pause.TotalMilliseconds} ms pause: {clock.ElapsedMilliseconds} ms");
        Assert.True(clock.Elapsed < WellBefore(pause), $"GetOrSet took {clock.ElapsedMilliseconds} ms");
        Assert.True(Interlocked.Read(ref nodes.A.Distributed!.FailedOperations) >= 2); // the read and the write

        await Poll.Until(() => InRedis(nodes, "k"), Nodes.Bound, "the cut write lands once Redis answers again");
        log.WriteLine($"the write is in Redis {clock.ElapsedMilliseconds} ms after the call began");
    }

    [Fact]
    public async Task SlowRedis_WithTheCircuitBreaker_OneCallWaitsForTheTimeout_TheNextOnesSkipRedis()
    {
        using var nodes = Nodes.Start(redis.Server.ConnectionString(), 1, b => b.WithCircuitBreaker(TimeSpan.FromSeconds(5)), log);
        var hard = new FusionCacheEntryOptions { DistributedCacheHardTimeout = TimeSpan.FromMilliseconds(200) };
        var factory = TestFactory<string>.Returning("computed");
        var readsBefore = await RedisStats.Calls(redis.Server, "get");

        var pause = TimeSpan.FromMilliseconds(3000);
        await redis.Server.PauseAsync(pause);
        var clock = Stopwatch.StartNew();
        Assert.Equal("computed", await Expect.Right(nodes.A.GetOrSet<string>("first", factory.Invoke, hard)));
        var first = clock.Elapsed;
        clock.Restart();
        for (var i = 0; i < 10; i++) Assert.Equal("computed", await Expect.Right(nodes.A.GetOrSet<string>($"next-{i}", factory.Invoke, hard)));
        var next = clock.Elapsed;
        log.WriteLine($"first call {first.TotalMilliseconds:0} ms (the read timed out, the write was queued); ten more {next.TotalMilliseconds:0} ms");

        Assert.InRange(first, TimeSpan.FromMilliseconds(150), WellBefore(pause));
        Assert.True(next < TimeSpan.FromMilliseconds(200), $"ten calls with the breaker open took {next.TotalMilliseconds:0} ms");
        Assert.Equal(11, nodes.A.Distributed!.PendingRecoveries);
        await Poll.Until(() => Task.FromResult(nodes.A.Distributed!.PendingRecoveries == 0), Nodes.Bound, "the queued writes are replayed");
        Assert.Equal(1, await RedisStats.Calls(redis.Server, "get") - readsBefore); // only the first call read Redis
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SlowRedis_DistributedSoftTimeoutWithAFallback_ServesQuickly(bool factorySucceeds)
    {
        using var nodes = Nodes.Start(redis.Server.ConnectionString(), 1, b => b.WithDuration(TimeSpan.FromMinutes(1)).WithFailSafe(), log);
        await nodes.A.Set("k", "old");
        await nodes.A.Expire("k"); // the fallback
        var pause = TimeSpan.FromMilliseconds(3000);
        var soft = new FusionCacheEntryOptions { DistributedCacheSoftTimeout = TimeSpan.FromMilliseconds(200) };
        var factory = factorySucceeds ? TestFactory<string>.Returning("new") : TestFactory<string>.Failing(Values.SourceDown);

        await redis.Server.PauseAsync(pause);
        var clock = Stopwatch.StartNew();
        var served = await Expect.Right(nodes.A.GetOrSet<string>("k", factory.Invoke, soft));
        log.WriteLine($"GetOrSet with a fallback during a {pause.TotalMilliseconds} ms pause, factory {(factorySucceeds ? "succeeds" : "fails")}: {clock.ElapsedMilliseconds} ms");

        Assert.Equal(factorySucceeds ? "new" : "old", served);
        // With a success, the L2 write follows: the soft timeout ("an L2 operation is abandoned, when a fallback exists")
        // should cut it as it cut the read, or the caller waits for Redis after all.
        Assert.True(clock.Elapsed < WellBefore(pause), $"GetOrSet took {clock.ElapsedMilliseconds} ms");
    }
}
