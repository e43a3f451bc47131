using System.Text;
using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>
/// The order of writes across nodes against a real Redis (SEMANTICS §4): ties broken by origin the same way in L2,
/// on the backplane and in L1; a write L2 refuses is given up by its writer; stamps beyond the clock-skew bound are
/// malformed; Expire leaves nothing fresh; a value read from L2 stays in L1; unserializable values stay local;
/// keys that differ only in lone surrogates stay apart.
/// </summary>
public sealed class OrderingFaultTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => redis.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private Nodes Start(int count, Func<FusionCacheBuilder, FusionCacheBuilder>? configure = null) =>
        Nodes.Start(redis.Server.ConnectionString(), count, b => configure?.Invoke(b.WithDuration(Minute)) ?? b.WithDuration(Minute), log);

    private async Task<IDatabase> Db() => (await Admin.Of(redis)).GetDatabase();

    [Fact]
    public async Task TwoNodesWritingAKeyInTheSameTick_Converge_OnTheValueL2Keeps()
    {
        // One frozen clock for both: their first stamp of each key is the same instant, so the writes tie and only the
        // origin orders them. 40 keys, both nodes writing each at once.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        // No L2 timeout: the test moves the fake clock while writes are in flight, which would time them out.
        using var nodes = Start(2, b => b.WithTimeProvider(time)
            .WithDefaultEntryOptions(new FusionCacheEntryOptions { Duration = Minute, DistributedCacheHardTimeout = Timeout.InfiniteTimeSpan }));
        await nodes.WaitSubscribed(await Admin.Of(redis));
        var keys = Enumerable.Range(0, 40).Select(i => $"k{i}").ToArray();
        foreach (var key in keys)
        {
            await Task.WhenAll(nodes.A.Set(key, "from A").AsTask(), nodes.B.Set(key, "from B").AsTask());
            time.Advance(TimeSpan.FromSeconds(1)); // the next key's writes are stamped at a new instant
        }

        var db = await Db();
        await Poll.Until(async () =>
        {
            foreach (var key in keys)
            {
                var inL2 = Wire.Decode((byte[])(await db.StringGetAsync(nodes.RedisKey(key)))!).PayloadText.Trim('"');
                var a = await nodes.A.TryGet<string>(key);
                var b = await nodes.B.TryGet<string>(key);
                if (a.IsNone || b.IsNone || (string)a != inL2 || (string)b != inL2) return false;
            }
            return true;
        }, Nodes.Bound, "both nodes hold what L2 holds, for every key");
        var winner = Wire.OriginOf(nodes.A.InstanceId) > Wire.OriginOf(nodes.B.InstanceId) ? "from A" : "from B";
        var ties = 0;
        foreach (var key in keys)
            if (Wire.Decode((byte[])(await db.StringGetAsync(nodes.RedisKey(key)))!).PayloadText.Trim('"') == winner) ties++;
        log.WriteLine($"{ties} of {keys.Length} keys hold the higher origin's value ({winner})");
        Assert.Equal(keys.Length, ties); // every pair of writes tied (one frozen clock): the higher origin wins each
    }

    [Fact]
    public async Task AWriteL2Refuses_IsGivenUpByItsWriter_WhichThenServesL2sNewerValue()
    {
        using var nodes = Start(1);
        await nodes.A.Set("k", "mine");
        // Another node's write, stamped 5 s ahead (within the skew bound), reached L2 but its notification was lost.
        var theirs = Wire.Fresh("\"theirs\"", Minute, at: DateTimeOffset.UtcNow.AddSeconds(5)) with { Origin = 42 };
        await (await Db()).StringSetAsync(nodes.RedisKey("k"), theirs.ToBytes(), Minute);

        await nodes.A.Set("k", "mine again"); // older than L2's: refused

        Assert.Equal(1, Interlocked.Read(ref nodes.A.Distributed!.RefusedWrites));
        var factory = TestFactory<string>.Returning("computed");
        Assert.Equal("theirs", await Expect.Right(nodes.A.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(0, factory.Calls);
        Assert.True(nodes.Log(0).Contains("L2 refused the Put of key k"), nodes.Log(0).ToString());
    }

    [Fact]
    public async Task ANotificationStampedBeyondTheSkewBound_IsMalformed_AndMovesNothing()
    {
        using var nodes = Start(2);
        await nodes.WaitSubscribed(await Admin.Of(redis));
        await nodes.Delivered(0, a => a.Set("k", "v1"));
        var failing = TestFactory<string>.Failing(Err.Of("down"));
        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", failing.Invoke)));

        var year2200 = new DateTimeOffset(2200, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks;
        var subscriber = (await Admin.Of(redis)).GetSubscriber();
        await subscriber.PublishAsync(nodes.Channel, Wire.Notice(Wire.Set, Guid.NewGuid(), year2200, "k"));
        await subscriber.PublishAsync(nodes.Channel, Wire.Notice(Wire.Remove, Guid.NewGuid(), long.MaxValue, "k"));
        await Poll.Until(() => Task.FromResult(Interlocked.Read(ref nodes.B.Distributed!.Backplane.Malformed) >= 2), Nodes.Bound, "B counts both forged messages");

        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", failing.Invoke))); // nothing dropped
        // B's clock did not follow: its next write is stamped now, and A's later write still wins over it.
        await nodes.Delivered(1, b => b.Set("j", "from B"));
        var stamped = Wire.Decode((byte[])(await (await Db()).StringGetAsync(nodes.RedisKey("j")))!).Timestamp;
        Assert.True(stamped < DateTimeOffset.UtcNow.AddMinutes(1).UtcTicks, $"B stamped its write {new DateTime(Math.Min(stamped, DateTime.MaxValue.Ticks)):O}");
        await nodes.Delivered(0, a => a.Set("j", "from A, later"));
        Assert.Equal("from A, later", await Expect.Right(nodes.B.GetOrSet<string>("j", failing.Invoke)));
        Assert.True(await nodes.Log(1).Logged("beyond the clock-skew bound"));
    }

    [Fact]
    public async Task Expire_LeavesNothingFresh_NotInL1_NorInL2_OnAFrozenClock()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var nodes = Start(1, b => b.WithTimeProvider(time).WithFailSafe(maxDuration: TimeSpan.FromMinutes(10)));
        for (var i = 0; i < 20; i++)
        {
            var key = $"k{i}";
            await nodes.A.Set(key, "old");
            await nodes.A.Expire(key);
            var factory = TestFactory<string>.Returning("new");
            Assert.Equal("new", await Expect.Right(nodes.A.GetOrSet<string>(key, factory.Invoke)));
            Assert.Equal(1, factory.Calls);
        }
        // And a node that never held the keys finds them stale in L2.
        await nodes.A.Set("other", "old");
        await nodes.A.Expire("other");
        var fresh = nodes.Add(b => b.WithTimeProvider(time).WithDuration(Minute));
        Assert.Equal("new", await Expect.Right(fresh.GetOrSet<string>("other", TestFactory<string>.Returning("new").Invoke)));
    }

    [Fact]
    public async Task AValueReadFromL2_IsServedFromL1ForItsLifetime_NotReadAgainOnEveryCall()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        // No L2 timeout and no breaker: the test moves the fake clock while the Set's notification may be in flight.
        using var nodes = Start(1, b => b.WithTimeProvider(time).WithCircuitBreaker(TimeSpan.Zero).WithDefaultEntryOptions(new FusionCacheEntryOptions
        {
            Duration = TimeSpan.FromSeconds(10),
            DistributedCacheDuration = TimeSpan.FromMinutes(10),
            DistributedCacheHardTimeout = Timeout.InfiniteTimeSpan,
        }));
        await nodes.A.Set("k", "v");
        time.Advance(TimeSpan.FromSeconds(11)); // stale in L1, fresh in L2
        var before = await RedisStats.Calls(redis.Server, "get");
        var factory = TestFactory<string>.Returning("computed");
        for (var i = 0; i < 20; i++) Assert.Equal("v", await Expect.Right(nodes.A.GetOrSet<string>("k", factory.Invoke)));
        var reads = await RedisStats.Calls(redis.Server, "get") - before;
        Assert.Equal(0, factory.Calls);
        Assert.True(reads == 1, $"{reads} L2 reads for 20 calls: the value read from L2 did not stay in L1");
    }

    [Fact]
    public async Task AValueTheSerializerCannotWrite_StaysLocal_NotAnnounced_NotInL2()
    {
        using var nodes = Start(2, b => b.WithSerializer(new RefusingSerializer()));
        await nodes.WaitSubscribed(await Admin.Of(redis));
        await nodes.Delivered(0, a => a.Set("k", "v1"));
        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", TestFactory<string>.Returning("x").Invoke)));
        var applied = nodes.Applied(1);

        await nodes.A.Set("k", "unwritable");

        Assert.Equal("unwritable", await Expect.Right(nodes.A.GetOrSet<string>("k", TestFactory<string>.Returning("x").Invoke)));
        await Task.Delay(300); // a notification would have arrived by now
        Assert.Equal(applied, nodes.Applied(1));
        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", TestFactory<string>.Returning("x").Invoke)));
        Assert.Equal("\"v1\"", (await (await Admin.Of(redis)).Stored(nodes, "k")).PayloadText);
        Assert.True(nodes.Log(0).Contains("Error: Fusion: the value for key k could not be serialized"), nodes.Log(0).ToString());
    }

    [Fact]
    public async Task KeysThatDifferOnlyInLoneSurrogates_KeepApart_InL2_AndOnTheBackplane()
    {
        using var nodes = Start(2);
        await nodes.WaitSubscribed(await Admin.Of(redis));
        const string first = "k\uD800", second = "k\uD801";
        await nodes.A.Set(first, "first");
        await nodes.A.Set(second, "second");
        var none = TestFactory<string>.Returning("computed");
        Assert.Equal("first", await Expect.Right(nodes.B.GetOrSet<string>(first, none.Invoke)));
        Assert.Equal("second", await Expect.Right(nodes.B.GetOrSet<string>(second, none.Invoke)));

        await nodes.Delivered(0, a => a.Remove(first)); // the notice names exactly this key
        Assert.Equal("computed", await Expect.Right(nodes.B.GetOrSet<string>(first, none.Invoke)));
        Assert.Equal("second", await Expect.Right(nodes.B.GetOrSet<string>(second, none.Invoke)));
        Assert.Equal(1, none.Calls);
        Assert.Equal(0, Interlocked.Read(ref nodes.B.Distributed!.Backplane.Malformed));
    }

    [Fact]
    public async Task AFloodOfMalformedMessages_IsCountedInFull_ButLoggedOnlyNowAndThen()
    {
        using var nodes = Start(1);
        await nodes.WaitSubscribed(await Admin.Of(redis));
        var subscriber = (await Admin.Of(redis)).GetSubscriber();
        for (var i = 0; i < 2000; i++) await subscriber.PublishAsync(nodes.Channel, "garbage\nFusion: forged line"u8.ToArray());
        await Poll.Until(() => Task.FromResult(Interlocked.Read(ref nodes.A.Distributed!.Backplane.Malformed) == 2000), Nodes.Bound, "all 2000 counted");
        var warnings = nodes.Log(0).ToString().Split('\n').Count(l => l.Contains("malformed backplane message"));
        Assert.InRange(warnings, 1, 3);
    }

    [Fact]
    public async Task AKeyWithANewline_IsLoggedEscaped_NotAsTwoLines()
    {
        using var nodes = Start(1, b => b.WithSerializer(new RefusingSerializer()));
        await nodes.A.Set("k\nFusion: forged", "unwritable");
        var text = nodes.Log(0).ToString();
        Assert.Contains("k\\nFusion: forged", text);
        Assert.DoesNotContain("\nFusion: forged", text);
    }

    /// <summary>Writes strings except "unwritable", as a serializer meeting a type it cannot handle would.</summary>
    private sealed class RefusingSerializer : IFusionSerializer
    {
        public byte[] Serialize<T>(T value) =>
            value is "unwritable" ? throw new NotSupportedException("cannot write this value") : System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value);

        public T Deserialize<T>(ReadOnlySpan<byte> bytes) => System.Text.Json.JsonSerializer.Deserialize<T>(bytes)!;
    }
}
