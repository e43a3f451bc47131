using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>
/// Callers sharing a flight each get only what their own options allow (SEMANTICS §3.6, invariant 12): a caller
/// with fail-safe off never gets a stale value from a flight led by a caller with fail-safe on, and a caller's
/// own hard timeout bounds its own wait, whatever the leader's options.
/// </summary>
public sealed class PerCallerReplyTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly FusionCacheEntryOptions FailSafeOff = new() { IsFailSafeEnabled = false };

    private static async Task<TestCache> CacheWithStaleValue()
    {
        var t = TestCache.WithFailSafe(Duration);
        await t.SetThenAdvance("k", "old", Duration);
        return t;
    }

    [Fact]
    public async Task JoinerWithFailSafeOff_WhenTheFactoryFails_GetsTheErrorWhileTheFailSafeLeaderGetsTheStaleValue()
    {
        using var t = await CacheWithStaleValue();
        var factory = TestFactory<string>.Waiting();
        var leader = t.Cache.GetOrSet<string>("k", factory.Invoke);
        var joiner = t.Cache.GetOrSet<string>("k", factory.Invoke, FailSafeOff);
        Assert.Equal(1, factory.Calls);

        factory[1].Fail(Values.SourceDown);

        Assert.Equal("old", await Expect.Right(leader));
        Assert.Equal(Values.SourceDown, await Expect.Left(joiner));
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the flight ends");
    }

    [Fact]
    public async Task JoinerWithFailSafeOff_WhenTheFailSafeLeaderSoftTimesOut_KeepsWaitingAndGetsTheFactoryValue()
    {
        using var t = await CacheWithStaleValue();
        var factory = TestFactory<string>.Waiting();
        var soft = TimeSpan.FromSeconds(1);
        var leader = t.Cache.GetOrSet<string>("k", factory.Invoke, new FusionCacheEntryOptions { FactorySoftTimeout = soft });
        var joiner = t.Cache.GetOrSet<string>("k", factory.Invoke, new FusionCacheEntryOptions { FactorySoftTimeout = soft, IsFailSafeEnabled = false }).AsTask();

        t.Advance(soft);
        Assert.Equal("old", await Expect.Right(leader));
        await Throughout.Assert(() => new ValueTask<bool>(!joiner.IsCompleted), "a caller with fail-safe off gets no answer at the leader's soft timeout");

        factory[1].Succeed("new");
        Assert.Equal("new", Expect.Right(await Eventually.Within(joiner)));
        Assert.Equal(1, factory.Calls);
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the flight ends");
    }

    [Fact]
    public async Task JoinerWithAHardTimeout_TimesOutOnItsOwnWhileTheLeaderWithoutTimeoutWaitsForTheValue()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var factory = TestFactory<string>.Waiting();
        var hard = TimeSpan.FromSeconds(1);
        var leader = t.Cache.GetOrSet<string>("k", factory.Invoke).AsTask();
        var joiner = t.Cache.GetOrSet<string>("k", factory.Invoke, new FusionCacheEntryOptions { FactoryHardTimeout = hard }).AsTask();
        Assert.Equal(1, factory.Calls);

        t.Advance(hard);

        await Eventually.Assert(() => joiner.IsCompleted, "the joiner's own hard timeout ends its wait");
        var error = Expect.Left<Err.FactoryTimedOut, string>(await joiner);
        Assert.Equal(hard, error.After);
        Assert.False(leader.IsCompleted, "the leader has no timeout: it still waits for the factory");

        factory[1].Succeed("v");
        Assert.Equal("v", Expect.Right(await Eventually.Within(leader)));
        Assert.Equal(1, factory.Calls);
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the flight ends");
    }
}
