using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>
/// A factory that timed out and keeps running for a background completion is still the key's current flight
/// until it ends (SEMANTICS §3.6, invariant 10): a later caller joins it, with its own timeouts and fallback,
/// instead of starting a second factory; and a write made meanwhile supersedes it, so its late result never lands.
/// </summary>
public sealed class TimedOutFlightTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Throttle = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Soft = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Hard = TimeSpan.FromSeconds(1);
    private static readonly FusionCacheEntryOptions SoftOnly = new() { FactorySoftTimeout = Soft };
    private static readonly FusionCacheEntryOptions HardOnly = new() { FactoryHardTimeout = Hard };
    private static readonly FusionCacheEntryOptions StaleAllowed = new() { AllowStaleOnReadOnly = true };

    /// <summary>A stale "old", and a flight whose factory (call 1) is still running after caller 1 got "old" at the soft timeout.</summary>
    private static async Task<(TestCache Cache, TestFactory<string> Factory)> SoftTimedOutFlight()
    {
        var t = TestCache.WithFailSafe(Duration, throttle: Throttle);
        await t.SetThenAdvance("k", "old", Duration);
        var factory = TestFactory<string>.Waiting();
        var caller1 = t.Cache.GetOrSet<string>("k", factory.Invoke, SoftOnly);
        t.Advance(Soft);
        Assert.Equal("old", await Expect.Right(caller1));
        return (t, factory);
    }

    private static void StillOneFactory(TestFactory<string> factory) =>
        Assert.True(factory.Calls == 1, $"a caller arriving while the timed-out factory still runs must join it (factory calls: {factory.Calls})");

    [Fact]
    public async Task LateResult_OfASoftTimedOutFactory_AfterARemove_DoesNotLand()
    {
        var (t, factory) = await SoftTimedOutFlight();
        using var _ = t;

        await t.Cache.Remove("k");
        factory[1].Succeed("late");
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the timed-out flight ends");

        await Throughout.Assert(async () => (await t.Cache.TryGet<string>("k", StaleAllowed)).IsNone, "the late result stays out after the Remove");
        factory.NowReturns("fresh");
        Assert.Equal("fresh", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke, SoftOnly)));
        Assert.Equal(2, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_PastTheThrottleWhileTheSoftTimedOutFactoryRuns_JoinsItAndGetsItsValue()
    {
        var (t, factory) = await SoftTimedOutFlight();
        using var _ = t;
        t.Advance(Throttle);

        var caller2 = t.Cache.GetOrSet<string>("k", factory.Invoke, SoftOnly);

        StillOneFactory(factory);
        factory[1].Succeed("new");
        Assert.Equal("new", await Expect.Right(caller2));
        Assert.Equal("new", await t.Cached<string>("k"));
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the flight ends");
    }

    [Fact]
    public async Task GetOrSet_PastTheThrottleWhileTheSoftTimedOutFactoryRuns_JoinsItAndGetsItsOwnFallbackAtItsSoftTimeout()
    {
        var (t, factory) = await SoftTimedOutFlight();
        using var _ = t;
        t.Advance(Throttle);

        var caller2 = t.Cache.GetOrSet<string>("k", factory.Invoke, SoftOnly);
        StillOneFactory(factory);
        t.Advance(Soft);

        Assert.Equal("old", await Expect.Right(caller2));
        StillOneFactory(factory);
        factory[1].Succeed("new");
        await Eventually.Assert(async () => await t.Cached<string>("k") == "new", "the background completion lands");
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the flight ends");
    }

    [Fact]
    public async Task GetOrSet_ShortlyAfterAHardTimeoutWithoutFailSafe_JoinsTheStillRunningFactoryAndGetsItsValue()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var factory = TestFactory<string>.Waiting();
        var caller1 = t.Cache.GetOrSet<string>("k", factory.Invoke, HardOnly);
        t.Advance(Hard);
        Expect.Left<Err.FactoryTimedOut, string>(await Eventually.Within(caller1));

        t.Advance(TimeSpan.FromMilliseconds(10));
        var caller2 = t.Cache.GetOrSet<string>("k", factory.Invoke, HardOnly);

        StillOneFactory(factory);
        factory[1].Succeed("late");
        Assert.Equal("late", await Expect.Right(caller2));
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the flight ends");
    }
}
