using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>
/// RemoveByTag and Clear across nodes against a real Redis (SEMANTICS §4b): announced on the backplane, merged into a
/// mark in L2 that a node that was away, or that reads the entry later, learns from.
/// </summary>
public sealed class TagDistributedTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => redis.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    private static readonly Func<FusionCacheBuilder, FusionCacheBuilder> Options = b =>
        b.WithDuration(TimeSpan.FromMinutes(1)).WithFailSafe(throttle: TimeSpan.FromMilliseconds(200));

    private static FusionCacheEntryOptions Tagged(params string[] tags) => new() { Tags = tags };

    private async Task<Nodes> Start(int count)
    {
        var nodes = Nodes.Start(redis.Server.ConnectionString(), count, Options, log);
        await nodes.WaitSubscribed(await Admin.Of(redis));
        return nodes;
    }

    [Fact]
    public async Task RemoveByTagOnA_EmptiesBAndC_AndAnEntryWrittenAfterItSurvives()
    {
        using var nodes = await Start(3);
        await nodes.A.Set("red1", "r", Tagged("red"));
        await nodes.A.Set("blue1", "b", Tagged("blue"));
        var none = TestFactory<string>.Returning("computed");
        foreach (var node in new[] { nodes.B, nodes.C })
        {
            Assert.Equal("r", await Expect.Right(node.GetOrSet<string>("red1", none.Invoke, Tagged("red"))));
            Assert.Equal("b", await Expect.Right(node.GetOrSet<string>("blue1", none.Invoke, Tagged("blue"))));
        }

        await nodes.Delivered(0, a => a.RemoveByTag("red"));
        await nodes.Delivered(0, a => a.Set("red2", "after", Tagged("red")));

        foreach (var node in new[] { nodes.A, nodes.B, nodes.C })
        {
            Assert.True((await node.TryGet<string>("red1")).IsNone, "an entry written before the RemoveByTag is still served");
            Assert.Equal("b", (await node.TryGet<string>("blue1")).IfNone(""));
            Assert.Equal("after", (await node.TryGet<string>("red2")).IfNone(""));
        }
        Assert.Equal(0, none.Calls);
    }

    [Fact]
    public async Task Clear_WithAndWithoutFailSafe_AcrossNodes()
    {
        using var nodes = await Start(2);
        await nodes.A.Set("k", "old");
        var failing = TestFactory<string>.Failing(Values.SourceDown);
        Assert.Equal("old", await Expect.Right(nodes.B.GetOrSet<string>("k", failing.Invoke)));

        await nodes.Delivered(0, a => a.Clear(allowFailSafe: true));
        Assert.True((await nodes.B.TryGet<string>("k")).IsNone);
        Assert.Equal("old", await Expect.Right(nodes.B.GetOrSet<string>("k", failing.Invoke))); // still a fallback

        await nodes.Delivered(0, a => a.Clear());
        await Task.Delay(250); // past the fail-safe throttle of the fallback B served
        Expect.Left<Err.FactoryFailed, string>(await nodes.B.GetOrSet<string>("k", failing.Invoke));
    }

    [Fact]
    public async Task ANodeThatWasAwayDuringTheRemoveByTag_HonoursItOnceBack()
    {
        using var proxy = new CuttableProxy(redis.Server.Port);
        using var nodes = Nodes.Start(redis.Server.ConnectionString(), 1, Options, log);
        nodes.Add(Options, proxy.ConnectionString);
        await nodes.WaitSubscribed(await Admin.Of(redis));
        await nodes.A.Set("k", "v", Tagged("red"));
        Assert.Equal("v", await Expect.Right(nodes.B.GetOrSet<string>("k", TestFactory<string>.Returning("x").Invoke, Tagged("red"))));

        proxy.Cut();
        await Poll.Until(() => Task.FromResult(!nodes.B.Distributed!.IsConnected), Nodes.Bound, "B sees Redis gone");
        await nodes.A.RemoveByTag("red"); // B cannot hear of it
        Assert.Equal("v", (await nodes.B.TryGet<string>("k")).IfNone("")); // B serves what it has meanwhile
        proxy.Resume();
        await Poll.Until(() => Task.FromResult(nodes.B.Distributed!.IsReady), Nodes.Bound, "B is back and revalidated");

        Assert.True((await nodes.B.TryGet<string>("k")).IsNone, "B missed the RemoveByTag made while it was away");
    }

    [Fact]
    public async Task ANodeStartedAfterTheRemoveByTag_DoesNotServeTheEntryFromL2()
    {
        using var nodes = await Start(1);
        await nodes.A.Set("k", "v", Tagged("red"));
        await nodes.A.RemoveByTag("red");
        // L2 still holds the entry (nothing is scanned); a new node reads it and must learn the tag's mark from L2.
        var late = nodes.Add(Options);
        var factory = TestFactory<string>.Returning("computed");
        Assert.Equal("computed", await Expect.Right(late.GetOrSet<string>("k", factory.Invoke, Tagged("red"))));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task ARemoveByTagMadeWhileRedisIsAway_IsReplayed_AndTheOthersLearnIt()
    {
        using var proxy = new CuttableProxy(redis.Server.Port);
        using var nodes = Nodes.Start(proxy.ConnectionString, 1, Options, log);
        nodes.Add(Options, redis.Server.ConnectionString());
        await nodes.WaitSubscribed(await Admin.Of(redis));
        await nodes.A.Set("k", "v", Tagged("red"));
        Assert.Equal("v", await Expect.Right(nodes.B.GetOrSet<string>("k", TestFactory<string>.Returning("x").Invoke, Tagged("red"))));

        proxy.Cut();
        await Poll.Until(() => Task.FromResult(!nodes.A.Distributed!.IsConnected), Nodes.Bound, "A sees Redis gone");
        await nodes.A.RemoveByTag("red");
        Assert.True(nodes.A.Distributed!.PendingRecoveries >= 1);
        proxy.Resume();

        await Poll.Until(async () => (await nodes.B.TryGet<string>("k")).IsNone, Nodes.Bound, "B hears of the replayed RemoveByTag");
    }

    [Fact]
    public async Task AMarkInL2_OutlivesEveryEntryItCovers()
    {
        // Why a mark cannot expire before an entry it covers (which would then be served again): its time to live is at
        // least the longest L2 lifetime its node has written. With maxmemory-policy volatile-ttl, Redis also evicts
        // the entries (shorter-lived) before their marks (docs/wire-format.md).
        using var nodes = await Start(1);
        await nodes.A.Set("long", "v", new FusionCacheEntryOptions { Tags = ["red"], Duration = TimeSpan.FromHours(3) });
        await nodes.A.RemoveByTag("red");
        var db = (await Admin.Of(redis)).GetDatabase();
        var entry = await db.KeyTimeToLiveAsync(nodes.RedisKey("long"));
        var mark = await db.KeyTimeToLiveAsync($"{nodes.CacheName}:mark:v1:tag:red");
        Assert.NotNull(mark);
        Assert.True(mark >= entry, $"the mark lives {mark}, the entry it covers {entry}");
    }
}

