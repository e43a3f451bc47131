using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>
/// Nodes in one process sharing one Redis: a Set, Remove or Expire on one node reaches the others through the backplane
/// (SEMANTICS §4, invariant 9), and a node ignores its own messages. Each test has a cache name of its own.
/// </summary>
public sealed class BackplaneTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>
{
    private static readonly Func<FusionCacheBuilder, FusionCacheBuilder> OneMinute = b => b.WithDuration(TimeSpan.FromMinutes(1));
    private static readonly Func<FusionCacheBuilder, FusionCacheBuilder> FailSafe = b =>
        b.WithDuration(TimeSpan.FromMinutes(1)).WithFailSafe(throttle: TimeSpan.FromSeconds(1));

    private async Task<Nodes> Start(int count, Func<FusionCacheBuilder, FusionCacheBuilder> configure)
    {
        var nodes = Nodes.Start(redis.Server.ConnectionString(), count, configure, log);
        await nodes.WaitSubscribed(await Admin.Of(redis));
        return nodes;
    }

    [Fact]
    public async Task AValueAnotherNodeWrote_IsReportedAsRead_FromRedis_WithItsWritersTimestamp()
    {
        using var nodes = await Start(2, OneMinute);
        await nodes.A.Set("k", "v");
        var written = Expect.Right(await nodes.A.GetOrSetEntry("k", ctx => Task.FromResult("never")));

        var read = Expect.Right(await nodes.B.GetOrSetEntry("k", ctx => Task.FromResult("never")));
        var again = Expect.Right(await nodes.B.GetOrSetEntry("k", ctx => Task.FromResult("never")));

        Assert.Equal(("v", ValueSource.Distributed, written.Timestamp), (read.Value, read.Source, read.Timestamp));
        Assert.Equal(ValueSource.Memory, again.Source);
    }

    [Fact]
    public async Task Set_OnA_IsSeenByBAndC_OnceTheNotificationArrives()
    {
        using var nodes = await Start(3, OneMinute);
        var factory = TestFactory<string>.Returning("from the factory");
        await nodes.Delivered(0, a => a.Set("k", "v1"));
        foreach (var node in new[] { nodes.B, nodes.C })
            Assert.Equal("v1", await Expect.Right(node.GetOrSet<string>("k", factory.Invoke))); // now in their L1

        await nodes.Delivered(0, a => a.Set("k", "v2"));

        Assert.Equal("v2", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal("v2", await Expect.Right(nodes.C.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(0, factory.Calls);
    }

    [Fact]
    public async Task Sets_OnEachNodeInTurn_LeaveEveryNodeWithTheLastOne()
    {
        using var nodes = await Start(3, OneMinute);
        var factory = TestFactory<string>.Returning("from the factory");

        for (var writer = 0; writer < 3; writer++)
        {
            await nodes.Delivered(writer, node => node.Set("k", $"by {writer}"));
            for (var reader = 0; reader < 3; reader++)
                Assert.Equal($"by {writer}", await Expect.Right(nodes[reader].GetOrSet<string>("k", factory.Invoke)));
        }

        Assert.Equal(0, factory.Calls);
    }

    [Fact]
    public async Task TwoSetsOnAWithinOneClockStep_LeaveBWithTheSecond_OnceItsNotificationArrives()
    {
        using var nodes = await Start(2, OneMinute);
        var factory = TestFactory<string>.Returning("from the factory");
        const int Keys = 10;

        for (var i = 0; i < Keys; i++)
        {
            await nodes.A.Set($"k{i}", "first");
            Assert.Equal("first", await Expect.Right(nodes.B.GetOrSet<string>($"k{i}", factory.Invoke))); // B holds it
            await nodes.A.Set($"k{i}", "second"); // a millisecond later: usually the same step of the cache's clock
        }
        await nodes.WaitApplied(1, 2 * Keys); // every notification has arrived

        var kept = new List<string>();
        for (var i = 0; i < Keys; i++)
            if (await Expect.Right(nodes.B.GetOrSet<string>($"k{i}", factory.Invoke)) != "second")
            {
                var stored = await (await Admin.Of(redis)).Stored(nodes, $"k{i}");
                kept.Add($"k{i} (L2 holds {stored.PayloadText} stamped {stored.Timestamp})");
            }
        Assert.True(kept.Count == 0,
            $"after the second Set's notification, B still serves the first value of {kept.Count} of {Keys} keys: {string.Join(", ", kept)}");
        Assert.Equal(0, factory.Calls);
    }

    [Fact]
    public async Task Remove_OnA_DropsTheValueOnBAndC()
    {
        using var nodes = await Start(3, FailSafe);
        await nodes.Delivered(0, a => a.Set("k", "v1"));
        var factory = TestFactory<string>.Returning("recomputed");
        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal("v1", await Expect.Right(nodes.C.GetOrSet<string>("k", factory.Invoke)));

        await nodes.Delivered(0, a => a.Remove("k"));

        Expect.None(await nodes.C.TryGet<string>("k", new FusionCacheEntryOptions { AllowStaleOnReadOnly = true })); // not even a fallback
        Assert.Equal("recomputed", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task Expire_OnA_WithFailSafe_LeavesTheOldValueAsTheFallbackOnB()
    {
        using var nodes = await Start(2, FailSafe);
        await nodes.Delivered(0, a => a.Set("k", "v1"));
        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", TestFactory<string>.Returning("unused").Invoke)));

        await nodes.Delivered(0, a => a.Expire("k"));

        var failing = TestFactory<string>.Failing(Values.SourceDown);
        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", failing.Invoke)));
        Assert.Equal(1, failing.Calls); // it was stale, so the factory ran, failed, and fail-safe served v1
    }

    [Fact]
    public async Task Expire_OnA_WithoutFailSafe_MakesBRunTheFactory()
    {
        using var nodes = await Start(2, OneMinute);
        await nodes.Delivered(0, a => a.Set("k", "v1"));
        var factory = TestFactory<string>.Returning("v2");
        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke)));

        await nodes.Delivered(0, a => a.Expire("k"));

        Assert.Equal("v2", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task OwnNotification_IsNotApplied_SoTheWritersL1KeepsItsValue()
    {
        using var nodes = await Start(2, OneMinute);

        await nodes.Delivered(0, a => a.Set("k", "v1")); // A's message has gone through Redis to every subscriber
        await nodes.Delivered(1, b => b.Set("other", "x")); // published after A's: once A applied it, A has seen its own

        Assert.Equal(1, nodes.Applied(0));
        Assert.Equal(1, nodes.Applied(1));
        Assert.True(nodes.A.Memory.TryGet("k", out var entry), "A's own notification dropped its L1 copy");
        Assert.Equal("v1", entry.Value);
        Assert.True(nodes.B.Memory.TryGet("other", out _), "B's own notification dropped its L1 copy");
    }

    [Fact]
    public async Task NotificationCarryingTheNodesOwnId_IsIgnored_AndAForeignOneIsApplied()
    {
        using var nodes = await Start(1, OneMinute);
        var publisher = (await Admin.Of(redis)).GetSubscriber();
        await nodes.A.Set("mine", "v");
        await nodes.A.Set("theirs", "v");
        var later = DateTimeOffset.UtcNow.AddSeconds(1).UtcTicks;

        await publisher.PublishAsync(nodes.Channel, Wire.Notice(Wire.Set, nodes.A.InstanceId, later, "mine"));
        await publisher.PublishAsync(nodes.Channel, Wire.Notice(Wire.Set, Guid.NewGuid(), later, "theirs"));
        await nodes.WaitApplied(0, 1);

        Assert.True(nodes.A.Memory.TryGet("mine", out _), "a message with A's own id was applied");
        Assert.False(nodes.A.Memory.TryGet("theirs", out _), "a newer Set from another node did not drop the copy");
        Assert.Equal(1, nodes.Applied(0));
    }

    [Fact]
    public async Task BackgroundCompletionOnA_AfterASoftTimeout_NotifiesB()
    {
        using var nodes = await Start(2, FailSafe);
        await nodes.Delivered(0, a => a.Set("k", "v1"));
        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", TestFactory<string>.Returning("unused").Invoke)));
        await nodes.Delivered(0, a => a.Expire("k")); // stale on both: the fallback
        var slow = TestFactory<string>.Waiting();

        var soft = new FusionCacheEntryOptions { FactorySoftTimeout = TimeSpan.FromMilliseconds(100) };
        Assert.Equal("v1", await Expect.Right(nodes.A.GetOrSet<string>("k", slow.Invoke, soft))); // the fallback; the factory goes on
        await nodes.Delivered(0, _ =>
        {
            slow[1].Succeed("v2");
            return Task.CompletedTask;
        });

        var unused = TestFactory<string>.Returning("unused");
        Assert.Equal("v2", await Expect.Right(nodes.B.GetOrSet<string>("k", unused.Invoke)));
        Assert.Equal("v2", await Expect.Right(nodes.A.GetOrSet<string>("k", unused.Invoke)));
        Assert.Equal(0, unused.Calls);
    }

    [Fact]
    public async Task MalformedMessages_AreCountedAndIgnored_AndTheNodeKeepsWorking()
    {
        using var nodes = await Start(2, OneMinute);
        var publisher = (await Admin.Of(redis)).GetSubscriber();
        await nodes.Delivered(0, a => a.Set("k", "v1"));
        var factory = TestFactory<string>.Returning("from the factory");
        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke)));
        var applied = nodes.Applied(1);
        var now = DateTimeOffset.UtcNow.AddSeconds(1).UtcTicks;
        byte[][] malformed =
        [
            "hello"u8.ToArray(),                                                      // not a message at all
            Wire.Notice(Wire.Set, Guid.NewGuid(), now, "k", version: 1),              // another format version
            Wire.Notice(9, Guid.NewGuid(), now, "k"),                                 // unknown kind
            Wire.Notice(Wire.Remove, Guid.NewGuid(), now, "")[..26],                  // no key
            [.. Wire.Notice(Wire.Remove, Guid.NewGuid(), now, "")[..26], 0xC3, 0x28], // a key that is not UTF-8
            [.. Wire.Notice(Wire.Remove, Guid.NewGuid(), now, "")[..26], 0xFF, 0x41], // a UTF-16 key of an odd length
            Wire.Notice(Wire.Set, Guid.NewGuid(), DateTimeOffset.UtcNow.AddHours(1).UtcTicks, "k"), // beyond the clock-skew bound
        ];

        foreach (var message in malformed) await publisher.PublishAsync(nodes.Channel, message);
        await Poll.Until(() => Task.FromResult(Interlocked.Read(ref nodes.B.Distributed!.Backplane.Malformed) == malformed.Length),
            Nodes.Bound, "B counts every malformed message");

        Assert.Equal(applied, nodes.Applied(1));
        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke))); // nothing was dropped
        await nodes.Delivered(0, a => a.Set("k", "v2"));
        Assert.Equal("v2", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(0, factory.Calls);
        Assert.True(await nodes.Log(1).Logged("malformed"));
    }

    [Fact]
    public async Task DisposedNode_OnASharedConnection_NoLongerListens()
    {
        using var witness = await Start(1, OneMinute); // a live node on the same channel, on its own connection
        var shared = await redis.ConnectAsync(); // the application's connection: the cache does not own it
        var disposed = new FusionCacheBuilder().WithRedis(shared, witness.CacheName).Build();
        await witness.WaitSubscribed(await Admin.Of(redis), expected: 2);

        disposed.Dispose();
        var publisher = (await Admin.Of(redis)).GetSubscriber();
        await publisher.PublishAsync(witness.Channel, Wire.Notice(Wire.Set, Guid.NewGuid(), DateTimeOffset.UtcNow.UtcTicks, "k"));
        await witness.WaitApplied(0, 1);
        await Task.Delay(200); // and to the shared connection too by now

        Assert.Equal(0, Interlocked.Read(ref disposed.Distributed!.Backplane.Applied));
    }
}
