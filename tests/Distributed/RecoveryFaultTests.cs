using System.Diagnostics;
using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>
/// Auto-recovery against a real Redis that goes away and comes back: the replay leaves L2 as the acknowledged
/// operations would have, in their order (invariant 13), one key's server error never blocks the others nor opens
/// the breaker for them, and Dispose says what it could not deliver (SEMANTICS §4, Recovery).
/// </summary>
public sealed class RecoveryFaultTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => redis.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private async Task<bool> InRedis(Nodes nodes, string key) => await redis.Server.SendAsync("EXISTS", nodes.RedisKey(key)) == "1";

    private async Task<Wire.Envelope> Stored(Nodes nodes, string key) => await (await Admin.Of(redis)).Stored(nodes, key);

    /// <summary>A node on Redis through <paramref name="proxy"/> (cut it to take Redis away from this node only).</summary>
    private static Nodes OnProxy(CuttableProxy proxy, Func<FusionCacheBuilder, FusionCacheBuilder>? configure, ITestOutputHelper log) =>
        Nodes.Start(proxy.ConnectionString, 1, b => (configure?.Invoke(b) ?? b).WithDuration(Minute).WithFailSafe(maxDuration: TimeSpan.FromMinutes(10)), log);

    private static async Task Away(Nodes nodes, CuttableProxy proxy)
    {
        proxy.Cut();
        await Poll.Until(() => Task.FromResult(!nodes.A.Distributed!.IsConnected), Nodes.Bound, "the node sees Redis gone");
    }

    private static Task Drained(Nodes nodes) =>
        Poll.Until(() => Task.FromResult(nodes.A.Distributed!.IsConnected && nodes.A.Distributed!.PendingRecoveries == 0), Nodes.Bound, "the queue drains");

    /// <summary>Found by the three-node fault run: a Remove queued while Redis was away, then a read after Redis came
    /// back and before the replay, read the removed value from L2 into L1, where it stayed (a node ignores its own
    /// notification). Reads now treat a key the queue owes as a miss. The read races the replay, so it is tried in a
    /// loop; the last check, after the drain, sees any value a racing read put back.</summary>
    [Fact]
    public async Task AReadBeforeTheReplay_OfARemoveQueuedWhileAway_NeverBringsTheRemovedValueBack()
    {
        using var proxy = new CuttableProxy(redis.Server.Port);
        using var nodes = OnProxy(proxy, null, log);
        for (var round = 0; round < 5; round++)
        {
            var key = $"k{round}";
            await nodes.A.Set(key, "removed");
            await Away(nodes, proxy);
            await nodes.A.Remove(key);
            proxy.Resume();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < Nodes.Bound && !(nodes.A.Distributed!.IsConnected && nodes.A.Distributed!.PendingRecoveries == 0))
                Assert.True((await nodes.A.TryGet<string>(key)).IsNone, $"round {round}: a read during the replay returned the removed value");
            await Drained(nodes);
            Assert.True((await nodes.A.TryGet<string>(key)).IsNone, $"round {round}: the removed value is back after the replay");
            Assert.True((await Stored(nodes, key)).IsTombstone);
        }
    }

    [Fact]
    public async Task SetThenExpire_WhileAway_ReplaysAsTheSetsValueExpired_AndRemoveThenExpire_AsTheRemove()
    {
        using var proxy = new CuttableProxy(redis.Server.Port);
        using var nodes = OnProxy(proxy, null, log);
        await nodes.A.Set("k", "v1");
        await nodes.A.Set("r", "removed");
        await Away(nodes, proxy);

        await nodes.A.Set("k", "v2");
        await nodes.A.Expire("k");   // used to replace the queued Set: L2 kept v1
        await nodes.A.Remove("r");
        await nodes.A.Expire("r");   // used to replace the queued Remove: L2 kept the removed value
        proxy.Resume();
        await Drained(nodes);

        var k = await Stored(nodes, "k");
        Assert.Equal("\"v2\"", k.PayloadText);
        Assert.True(k.LogicalExpiry <= DateTimeOffset.UtcNow.UtcTicks, "the replayed value is not expired in L2");
        Assert.True((await Stored(nodes, "r")).IsTombstone, "the removed value came back in L2");

        // A node that never saw any of it: the expired v2 is its fallback, the removed key is absent.
        var other = nodes.Add(b => b.WithDuration(Minute).WithFailSafe(maxDuration: TimeSpan.FromMinutes(10)), redis.Server.ConnectionString());
        var failing = TestFactory<string>.Failing(Err.Of("source down"));
        Assert.Equal("v2", await Expect.Right(other.GetOrSet<string>("k", failing.Invoke)));
        Assert.Equal("computed", await Expect.Right(other.GetOrSet<string>("r", TestFactory<string>.Returning("computed").Invoke)));
    }

    [Fact]
    public async Task AWriteOfAKeyThatStillOwesRedis_QueuesBehindIt_SoAnExpireNeverReachesL2BeforeTheSetItExpires()
    {
        // The breaker opens (a read times out on a paused Redis) and a Set is queued; once the breaker closes, an Expire
        // of the same key comes before the replay. Sent straight to Redis it would find nothing to expire, and the
        // replayed Set would then land fresh.
        using var nodes = Nodes.Start(redis.Server.ConnectionString(), 1, b => b.WithDuration(Minute)
            .WithCircuitBreaker(TimeSpan.FromSeconds(2)).WithAutoRecovery(delay: TimeSpan.FromSeconds(3)), log);
        var quick = new FusionCacheEntryOptions { DistributedCacheHardTimeout = TimeSpan.FromMilliseconds(100) };
        await redis.Server.PauseAsync(TimeSpan.FromMilliseconds(500));
        var opened = Stopwatch.StartNew();
        await Expect.Right(nodes.A.GetOrSet<string>("trip", TestFactory<string>.Returning("x").Invoke, quick));
        await nodes.A.Set("k", "v");
        Assert.True(nodes.A.Distributed!.PendingRecoveries >= 1, "the Set was not queued");
        await Task.Delay(TimeSpan.FromMilliseconds(2500) - opened.Elapsed); // the breaker is closed again; the replay waits for its delay (3 s)

        await nodes.A.Expire("k");

        await Drained(nodes);
        var stored = await Stored(nodes, "k");
        Assert.Equal("\"v\"", stored.PayloadText);
        Assert.True(stored.LogicalExpiry <= DateTimeOffset.UtcNow.UtcTicks, "the Expire reached L2 before the Set it expires: L2 holds the value fresh");
    }

    [Fact]
    public async Task PoisonedKey_IsParkedAndLogged_HealthyKeysReplay_AndTheBreakerStaysClosedForThem()
    {
        using var proxy = new CuttableProxy(redis.Server.Port);
        using var nodes = OnProxy(proxy, b => b.WithCircuitBreaker(TimeSpan.FromSeconds(30)).WithAutoRecovery(delay: TimeSpan.FromMilliseconds(200)), log);
        await Away(nodes, proxy);
        await nodes.A.Set("bad", "v");
        for (var i = 0; i < 5; i++) await nodes.A.Set($"good{i}", "v");
        // Something else lives at the bad key now: every replay of it fails with WRONGTYPE.
        var db = (await Admin.Of(redis)).GetDatabase();
        await db.ListLeftPushAsync(nodes.RedisKey("bad"), "not fusion's");

        proxy.Resume();
        await Poll.Until(async () =>
        {
            for (var i = 0; i < 5; i++) if (!await InRedis(nodes, $"good{i}")) return false;
            return true;
        }, Nodes.Bound, "the healthy keys replay past the poisoned one");
        Assert.True(await nodes.Log(0).Logged("refused the queued operations of key bad"), "the poisoned key was not logged");
        Assert.True(nodes.Log(0).Contains("Error: Fusion: Redis refused the queued operations of key bad"), "not logged at Error");
        Assert.True(Interlocked.Read(ref nodes.A.Distributed!.ParkedOperations) >= 1);

        // The breaker did not open for everyone: a live write lands at once.
        await nodes.A.Set("live", "v");
        Assert.True(await InRedis(nodes, "live"), "a write after the poisoned key's error did not reach L2 (breaker open?)");

        // Once the key is fixed, its parked write lands on a later attempt.
        await db.KeyDeleteAsync(nodes.RedisKey("bad"));
        await Poll.Until(async () => await InRedis(nodes, "bad"), Nodes.Bound, "the parked write lands once the key is fixed");
        Assert.Equal("\"v\"", (await Stored(nodes, "bad")).PayloadText);
    }

    [Fact]
    public async Task KeyThatKeepsFailing_IsDroppedAfterItsAttempts_WithALogLine()
    {
        using var proxy = new CuttableProxy(redis.Server.Port);
        using var nodes = OnProxy(proxy, b => b.WithAutoRecovery(delay: TimeSpan.FromMilliseconds(20)), log);
        await Away(nodes, proxy);
        await nodes.A.Set("bad", "v");
        await (await Admin.Of(redis)).GetDatabase().ListLeftPushAsync(nodes.RedisKey("bad"), "not fusion's");
        proxy.Resume();

        await Poll.Until(() => Task.FromResult(nodes.A.Distributed!.PendingRecoveries == 0), TimeSpan.FromSeconds(15), "the key is given up");
        Assert.True(await nodes.Log(0).Logged("times; they are dropped"), "dropping the key was not logged");
        Assert.Equal(1, Interlocked.Read(ref nodes.A.Distributed!.DroppedOperations));
    }

    [Fact]
    public async Task RedisLostUnderLoad_EveryKeyEndsOnItsNewestAcknowledgedWrite()
    {
        using var proxy = new CuttableProxy(redis.Server.Port);
        using var nodes = OnProxy(proxy, b => b.WithAutoRecovery(delay: TimeSpan.FromMilliseconds(100)), log);
        var random = new Random(1234);
        var newest = new Dictionary<string, (string Op, int Value)>();
        var stop = new CancellationTokenSource();
        var ops = 0;
        // One writer, so the acknowledged order is the program order; Redis goes away in the middle of it, with
        // writes in flight, and the load goes on against the queue (Set, Remove and Expire of the same keys).
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested || ops < 600)
            {
                var key = $"k{random.Next(20)}";
                var value = ++ops;
                switch (random.Next(4))
                {
                    case 0 or 1: await nodes.A.Set(key, value); newest[key] = ("set", value); break;
                    case 2: await nodes.A.Remove(key); newest[key] = ("remove", 0); break;
                    default:
                        await nodes.A.Expire(key);
                        if (newest.TryGetValue(key, out var w) && w.Op.StartsWith("set", StringComparison.Ordinal)) newest[key] = ("set+expire", w.Value);
                        break;
                }
                if (ops % 50 == 0) await Task.Yield();
            }
        });
        await Task.Delay(150);
        proxy.Cut();
        await Task.Delay(300);
        stop.Cancel();
        await load;
        log.WriteLine($"{ops} operations; {nodes.A.Distributed!.PendingRecoveries} keys queued when Redis came back");
        Assert.True(nodes.A.Distributed!.PendingRecoveries > 0, "nothing was queued: the test did not test the replay");
        proxy.Resume();
        await Drained(nodes);

        var now = DateTimeOffset.UtcNow.UtcTicks;
        foreach (var (key, (op, value)) in newest)
        {
            var bytes = (byte[]?)await (await Admin.Of(redis)).GetDatabase().StringGetAsync(nodes.RedisKey(key));
            Assert.True(bytes is not null, $"{key}: its newest write ({op} {value}) was lost");
            var stored = Wire.Decode(bytes);
            if (op == "remove") Assert.True(stored.IsTombstone, $"{key}: removed last, L2 holds {stored.PayloadText}");
            else
            {
                Assert.Equal(value.ToString(), stored.PayloadText);
                Assert.True(op == "set+expire" == stored.LogicalExpiry <= now, $"{key}: {op} {value}, but L2's logical expiry is {stored.LogicalExpiry - now} ticks from now");
            }
        }
    }

    [Fact]
    public async Task RedisKilledUnderLoad_AndRestartedEmpty_EveryKeyWrittenAfterTheKill_EndsOnItsNewestWrite()
    {
        using var nodes = Nodes.Start(redis.Server.ConnectionString(), 1, b => b.WithDuration(Minute).WithAutoRecovery(delay: TimeSpan.FromMilliseconds(100)), log);
        var random = new Random(4321);
        var newest = new Dictionary<string, (string Op, int Value, bool AfterKill)>();
        var killed = 0;
        var stop = new CancellationTokenSource();
        var ops = 0;
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested || ops < 600)
            {
                var key = $"k{random.Next(30)}";
                var value = ++ops;
                var after = Volatile.Read(ref killed) == 1; // read before the call: the call certainly follows the kill
                switch (random.Next(4))
                {
                    case 0 or 1: await nodes.A.Set(key, value); newest[key] = ("set", value, after); break;
                    case 2: await nodes.A.Remove(key); newest[key] = ("remove", 0, after); break;
                    default:
                        await nodes.A.Expire(key);
                        if (newest.TryGetValue(key, out var w) && w.Op.StartsWith("set", StringComparison.Ordinal)) newest[key] = ("set+expire", w.Value, w.AfterKill && after);
                        break;
                }
                if (ops % 50 == 0) await Task.Yield();
            }
        });
        await Task.Delay(150);
        redis.Server.Kill(); // SIGKILL: Redis loses what it held; what the node queued from now on must all land
        Volatile.Write(ref killed, 1);
        await Task.Delay(300);
        stop.Cancel();
        await load;
        var queued = nodes.A.Distributed!.PendingRecoveries;
        log.WriteLine($"{ops} operations; {queued} keys queued when Redis came back");
        await redis.Server.RestartAsync();
        await Poll.Until(() => Task.FromResult(nodes.A.Distributed!.IsConnected && nodes.A.Distributed!.PendingRecoveries == 0), Nodes.Bound, "the queue drains");

        var now = DateTimeOffset.UtcNow.UtcTicks;
        var checkedKeys = 0;
        foreach (var (key, (op, value, afterKill)) in newest)
        {
            if (!afterKill) continue; // written before the kill: Redis itself lost it
            checkedKeys++;
            var bytes = (byte[]?)await (await Admin.Of(redis)).GetDatabase().StringGetAsync(nodes.RedisKey(key));
            Assert.True(bytes is not null, $"{key}: its newest write ({op} {value}), made after the kill, was lost");
            var stored = Wire.Decode(bytes);
            if (op == "remove") Assert.True(stored.IsTombstone, $"{key}: removed last, L2 holds {stored.PayloadText}");
            else
            {
                Assert.Equal(value.ToString(), stored.PayloadText);
                Assert.True(op == "set+expire" == stored.LogicalExpiry <= now, $"{key}: {op} {value}, but L2's logical expiry is {stored.LogicalExpiry - now} ticks from now");
            }
        }
        log.WriteLine($"{checkedKeys} keys' newest writes came after the kill; all in L2");
        Assert.True(checkedKeys > 0, "no write after the kill: the test did not test the replay");
    }

    [Fact]
    public async Task Dispose_WithOperationsQueued_LogsWhatItDrops()
    {
        using var proxy = new CuttableProxy(redis.Server.Port);
        var nodes = OnProxy(proxy, b => b.WithAutoRecovery(drainOnDispose: TimeSpan.FromMilliseconds(200)), log);
        await Away(nodes, proxy);
        await nodes.A.Set("a", "1");
        await nodes.A.Set("b", "1");
        var log0 = nodes.Log(0);
        nodes.Dispose();
        Assert.True(log0.Contains("disposed with operations Redis has not received; dropped the queued L2 operations of 2 key(s)"),
            $"Dispose dropped the queue silently:{Environment.NewLine}{log0}");
    }

    [Fact]
    public async Task Dispose_RightAfterRedisIsBack_DrainsTheQueueFirst()
    {
        using var proxy = new CuttableProxy(redis.Server.Port);
        // The recovery delay is long: only Dispose's drain (or the reconnect's replay) can send the queue.
        var nodes = OnProxy(proxy, b => b.WithAutoRecovery(delay: TimeSpan.FromMinutes(5), drainOnDispose: TimeSpan.FromSeconds(5)), log);
        await Away(nodes, proxy);
        for (var i = 0; i < 20; i++) await nodes.A.Set($"k{i}", "v");
        proxy.Resume();
        await Poll.Until(() => Task.FromResult(nodes.A.Distributed!.IsConnected), Nodes.Bound, "reconnected");
        var log0 = nodes.Log(0);
        nodes.Dispose();
        for (var i = 0; i < 20; i++) Assert.True(await InRedis(nodes, $"k{i}"), $"k{i} was lost on Dispose:{Environment.NewLine}{log0}");
        Assert.False(log0.Contains("disposed with operations"), log0.ToString());
    }
}
