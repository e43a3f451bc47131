using System.Diagnostics;
using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>
/// What an operator sees when Redis cannot be reached or is slow (SEMANTICS §4): failures logged from the first
/// attempt, with their reason and no secret; a paused Redis holds no caller much longer than the default 1 s L2
/// timeout.
/// </summary>
public sealed class ConnectionFaultTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => redis.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task AWrongPassword_IsLoggedFromTheFirstAttempt_WithItsReason_AndWithoutThePassword()
    {
        const string password = "correct-horse-battery", wrong = "wrong-staple-9f3a";
        await using var server = await RedisServer.StartAsync();
        Assert.Equal("OK", await server.SendAsync("CONFIG", "SET", "requirepass", password));
        var nodeLog = new NodeLog();
        var clock = Stopwatch.StartNew();
        using (var cache = new FusionCacheBuilder().WithLogger(nodeLog)
                   .WithRedis($"{server.Endpoint},password={wrong},abortConnect=false,connectTimeout=1000", "secured").Build())
        {
            Assert.Equal("v", await Expect.Right(cache.GetOrSet<string>("k", TestFactory<string>.Returning("v").Invoke)));
            await Poll.Until(() => Task.FromResult(nodeLog.Contains("could not connect to Redis")), TimeSpan.FromSeconds(10), "the failed connection is logged");
            log.WriteLine($"logged after {clock.ElapsedMilliseconds} ms:{Environment.NewLine}{nodeLog}");
        }
        var text = nodeLog.ToString();
        Assert.DoesNotContain(wrong, text);
        Assert.DoesNotContain(password, text);
        Assert.Contains("Warning: Fusion: could not connect to Redis", text);
    }

    [Fact]
    public async Task APausedRedis_HoldsNoCallerMuchLongerThanTheDefaultL2Timeout()
    {
        using var nodes = Nodes.Start(redis.Server.ConnectionString(), 1, b => b.WithDuration(TimeSpan.FromMinutes(1)), log);
        await nodes.A.Set("warm", "up");
        await redis.Server.PauseAsync(TimeSpan.FromSeconds(4));
        try
        {
            var clock = Stopwatch.StartNew();
            Assert.Equal("v", await Expect.Right(nodes.A.GetOrSet<string>("k", TestFactory<string>.Returning("v").Invoke)));
            var read = clock.Elapsed;
            clock.Restart();
            await nodes.A.Set("j", "w");
            var write = clock.Elapsed;
            log.WriteLine($"with Redis paused: GetOrSet {read.TotalMilliseconds:0} ms, Set {write.TotalMilliseconds:0} ms");
            // One 1 s timeout for the read; the GetOrSet's write and the Set find the breaker open (1 s by default) and
            // queue at once. The rest is a loaded two-core machine's slack.
            Assert.True(read < TimeSpan.FromSeconds(1.8), $"GetOrSet held {read.TotalMilliseconds:0} ms");
            Assert.True(write < TimeSpan.FromSeconds(1.8), $"Set held {write.TotalMilliseconds:0} ms");
        }
        finally
        {
            await Task.Delay(TimeSpan.FromSeconds(4));
        }
        // Nothing was lost: the timed-out write is replayed once Redis answers again.
        await Poll.Until(async () => await redis.Server.SendAsync("EXISTS", nodes.RedisKey("j")) == "1", Nodes.Bound, "the timed-out write lands");
    }

    [Fact]
    public async Task ASetWhoseWaitIsCancelled_EndsTheWaitOnly_AndTheWriteStillReachesRedis()
    {
        using var nodes = Nodes.Start(redis.Server.ConnectionString(), 1, b => b.WithDuration(TimeSpan.FromMinutes(1)), log);
        await nodes.A.Set("warm", "up");
        await redis.Server.PauseAsync(TimeSpan.FromSeconds(2));
        using var caller = new CancellationTokenSource(TimeSpan.FromMilliseconds(150));
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => nodes.A.Set("k", "v", cancellationToken: caller.Token).AsTask());

        log.WriteLine($"the cancelled wait ended after {clock.ElapsedMilliseconds} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(0.9), $"the wait outlived its token: {clock.ElapsedMilliseconds} ms");
        Assert.Equal("v", Expect.Some(await nodes.A.TryGet<string>("k"))); // L1 has it at once
        await Poll.Until(async () => await redis.Server.SendAsync("EXISTS", nodes.RedisKey("k")) == "1", Nodes.Bound, "the write lands in L2");
    }

    [Fact]
    public async Task AnAclUserWithTheDocumentedPermissions_CanDoEverything_AndAKeyItMayNotTouchIsAPerKeyError()
    {
        const string cacheName = "acl";
        // The line in docs/wire-format.md, with the key pattern narrowed to keys starting with "ok" so one key is refused.
        var setUser = $"ACL SETUSER fusion on >user-pw-123 resetkeys ~{cacheName}:v2:ok* ~{cacheName}:mark:* resetchannels &{cacheName}:backplane:v2 -@all +@connection +get +mget +eval +evalsha +script|load +strlen +getrange +set +setrange +pttl +publish +subscribe +unsubscribe";
        Assert.Equal("OK", await redis.Server.SendAsync(setUser.Split(' ')));
        try
        {
            var nodeLog = new NodeLog();
            var connection = $"{redis.Server.Endpoint},user=fusion,password=user-pw-123,abortConnect=false,connectTimeout=2000";
            using var a = new FusionCacheBuilder().WithLogger(nodeLog).WithRedis(connection, cacheName).WithCircuitBreaker(TimeSpan.FromSeconds(30)).Build();
            using var b = new FusionCacheBuilder().WithRedis(connection, cacheName).Build();
            await Poll.Until(() => Task.FromResult(a.Distributed!.IsReady && b.Distributed!.IsReady), TimeSpan.FromSeconds(10), "both nodes connect and subscribe as the ACL user");

            await a.Set("ok1", "v1");
            Assert.Equal("v1", await Expect.Right(b.GetOrSet<string>("ok1", TestFactory<string>.Returning("x").Invoke)));
            await a.Expire("ok1");
            await a.Remove("ok1");
            await a.Set("denied", "v"); // NOPERM on this key only
            await a.Set("ok2", "v2");   // the breaker did not open for the others
            Assert.Equal("v2", await Expect.Right(b.GetOrSet<string>("ok2", TestFactory<string>.Returning("x").Invoke)));
            // Tags too: the marks' keys and commands are in the documented permissions.
            var red = new FusionCacheEntryOptions { Tags = ["red"] };
            await a.Set("ok3", "v3", red);
            Assert.Equal("v3", await Expect.Right(b.GetOrSet<string>("ok3", TestFactory<string>.Returning("x").Invoke, red)));
            await a.RemoveByTag("red");
            await Poll.Until(async () => (await b.TryGet<string>("ok3")).IsNone, TimeSpan.FromSeconds(10), "B hears of the RemoveByTag");
            Assert.DoesNotContain("refused reading invalidation marks", nodeLog.ToString());
            Assert.Equal(0, b.Distributed!.FailedOperations);
            Assert.True(nodeLog.Contains("Error: Fusion: Redis refused the write for key denied"), nodeLog.ToString());
            Assert.DoesNotContain("user-pw-123", nodeLog.ToString());
        }
        finally
        {
            await redis.Server.SendAsync("ACL", "DELUSER", "fusion");
        }
    }

    [Fact]
    public async Task RedisOperationsAbandonedAtTheirTimeout_ThatFaultLater_AreObserved()
    {
        // Every L2 operation meets a paused Redis and is given up at 100 ms; the client's own timeout (2 s) faults it
        // later. Those faults name this server's port: none may reach UnobservedTaskException.
        using var faults = new UnobservedFaults($":{redis.Server.Port}");
        using (var nodes = Nodes.Start(redis.Server.ConnectionString(), 1, b => b.WithCircuitBreaker(TimeSpan.Zero)
                   .WithDefaultEntryOptions(new FusionCacheEntryOptions { DistributedCacheHardTimeout = TimeSpan.FromMilliseconds(100) }), log))
        {
            await redis.Server.PauseAsync(TimeSpan.FromSeconds(3));
            for (var i = 0; i < 10; i++)
            {
                await Expect.Right(nodes.A.GetOrSet<string>($"k{i}", TestFactory<string>.Returning("v").Invoke));
                await nodes.A.Set($"s{i}", "v");
            }
            Assert.True(Interlocked.Read(ref nodes.A.Distributed!.FailedOperations) >= 20);
            await Task.Delay(TimeSpan.FromSeconds(3.5)); // the client's timeouts fire, then the pause ends
        }
        await faults.AssertNone();
    }
}
