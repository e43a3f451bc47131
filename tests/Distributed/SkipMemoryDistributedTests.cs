using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>
/// SkipMemoryCacheRead / SkipMemoryCacheWrite with a real Redis (SEMANTICS §4b): L2-only reads and writes, L2's stale
/// values as fail-safe fallbacks, and L1 never keeping an older copy than a write made here.
/// </summary>
public sealed class SkipMemoryDistributedTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>
{
    private static readonly FusionCacheEntryOptions SkipRead = new() { SkipMemoryCacheRead = true };

    private async Task<Nodes> Start(int count, Func<FusionCacheBuilder, FusionCacheBuilder>? configure = null)
    {
        var nodes = Nodes.Start(redis.Server.ConnectionString(), count, configure ?? (b => b.WithDuration(TimeSpan.FromMinutes(1))), log);
        await nodes.WaitSubscribed(await Admin.Of(redis));
        return nodes;
    }

    [Fact]
    public async Task SkipRead_ReadsL2_WhereAnOrdinaryReadServesL1sCopy()
    {
        using var nodes = await Start(2);
        await nodes.A.Set("k", "v1");
        var factory = TestFactory<string>.Returning("from the factory");
        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke)));

        await nodes.A.Set("k", "v2", new FusionCacheEntryOptions { SkipBackplaneNotifications = true }); // B is not told

        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal("v2", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke, SkipRead)));
        Assert.Equal("v2", Expect.Some(await nodes.B.TryGet<string>("k", SkipRead)));
        Assert.Equal(0, factory.Calls);
        Assert.Equal("v2", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke))); // the skip-read result was stored
    }

    [Fact]
    public async Task SkipMemoryCache_WithFailSafe_ServesL2sStaleValue_AndKeepsNothingInL1()
    {
        using var nodes = await Start(2, b => b.WithDuration(TimeSpan.FromMilliseconds(300)).WithFailSafe(maxDuration: TimeSpan.FromMinutes(5)));
        await nodes.A.Set("k", "stale");
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var failing = TestFactory<string>.Failing(Values.SourceDown);
        var l2Only = new FusionCacheEntryOptions { SkipMemoryCache = true };

        Assert.Equal("stale", await Expect.Right(nodes.B.GetOrSet<string>("k", failing.Invoke, l2Only)));

        Assert.Equal(1, failing.Calls);
        Assert.False(nodes.B.Memory.TryGet("k", out _), "B kept a copy though the call skips L1");
        Assert.Equal("\"stale\"", (await (await Admin.Of(redis)).Stored(nodes, "k")).PayloadText); // L2 keeps the real value
    }

    [Fact]
    public async Task SetWithSkipWrite_ReachesL2AndTheOtherNodes_AndDropsTheWritersOlderCopy()
    {
        using var nodes = await Start(2);
        await nodes.A.Set("k", "old");
        Assert.Equal("old", Expect.Some(await nodes.B.TryGet<string>("k")));

        await nodes.Delivered(0, a => a.Set("k", "new", new FusionCacheEntryOptions { SkipMemoryCacheWrite = true }));

        Assert.False(nodes.A.Memory.TryGet("k", out _), "A kept its older copy");
        Assert.Equal("new", Expect.Some(await nodes.A.TryGet<string>("k"))); // from L2
        Assert.Equal("new", Expect.Some(await nodes.B.TryGet<string>("k")));
    }
}
