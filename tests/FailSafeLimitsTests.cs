using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>
/// The bounds of fail-safe: the throttle window after an activation, MaxFailSafeCycles (invariant 5), and
/// FailSafeMaxDuration (invariant 1: never a value past its physical expiry).
/// </summary>
public sealed class FailSafeLimitsTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Throttle = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    [Fact]
    public async Task GetOrSet_WithinThrottleAfterActivation_ServesFallbackWithoutCallingFactory()
    {
        using var t = TestCache.WithFailSafe(Duration, throttle: Throttle);
        await t.SetThenAdvance("k", "old", Duration);
        var factory = TestFactory<string>.Failing(Values.SourceDown);
        Assert.Equal("old", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));

        t.Advance(Throttle - Tick);

        Assert.Equal("old", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenThrottleHasElapsed_CallsFactoryAgain()
    {
        using var t = TestCache.WithFailSafe(Duration, throttle: Throttle);
        await t.SetThenAdvance("k", "old", Duration);
        var factory = TestFactory<string>.Failing(Values.SourceDown);
        await t.Cache.GetOrSet<string>("k", factory.Invoke);

        t.Advance(Throttle);
        factory.NowReturns("new");

        Assert.Equal("new", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(2, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_AfterMaxFailSafeCyclesActivations_ReturnsTheErrorOnTheNextFailure()
    {
        using var t = TestCache.WithFailSafe(Duration, throttle: Throttle, maxCycles: 2);
        await t.SetThenAdvance("k", "old", Duration);
        var factory = TestFactory<string>.Failing(Values.SourceDown);

        Assert.Equal("old", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        t.Advance(Throttle);
        Assert.Equal("old", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        t.Advance(Throttle);

        Assert.Equal(Values.SourceDown, await Expect.Left(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(3, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenFactorySucceedsAfterCyclesRanOut_ReturnsValueAndFailSafeWorksAgain()
    {
        using var t = TestCache.WithFailSafe(Duration, throttle: Throttle, maxCycles: 2);
        await t.SetThenAdvance("k", "old", Duration);
        var factory = TestFactory<string>.Failing(Values.SourceDown);
        for (var i = 0; i < 3; i++, t.Advance(Throttle)) await t.Cache.GetOrSet<string>("k", factory.Invoke);

        factory.NowReturns("new");
        Assert.Equal("new", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));

        // The success reset the cycles: two more activations are allowed, then the error again.
        factory.NowFails(Values.SourceDown);
        t.Advance(Duration);
        Assert.Equal("new", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        t.Advance(Throttle);
        Assert.Equal("new", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        t.Advance(Throttle);
        Assert.Equal(Values.SourceDown, await Expect.Left(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(7, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WithZeroMaxFailSafeCycles_NeverServesTheStaleValue()
    {
        using var t = TestCache.WithFailSafe(Duration, maxCycles: 0);
        await t.SetThenAdvance("k", "old", Duration);
        var factory = TestFactory<string>.Failing(Values.SourceDown);

        Assert.Equal(Values.SourceDown, await Expect.Left(t.Cache.GetOrSet<string>("k", factory.Invoke)));
    }

    [Fact]
    public async Task GetOrSet_ThrottledFallback_IsNotServedPastFailSafeMaxDuration()
    {
        var maxDuration = TimeSpan.FromSeconds(20);
        using var t = TestCache.WithFailSafe(Duration, maxDuration: maxDuration, throttle: TimeSpan.FromMinutes(5));
        await t.Cache.Set("k", "old");
        t.Advance(Duration);
        var factory = TestFactory<string>.Failing(Values.SourceDown);
        Assert.Equal("old", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));

        // The throttle (5 min) would reach past the physical expiry (20 s): it is cut there.
        t.Advance(maxDuration - Duration - Tick);
        Assert.Equal("old", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(1, factory.Calls);

        t.Advance(Tick);
        Assert.Equal(Values.SourceDown, await Expect.Left(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(2, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_PastFailSafeMaxDuration_DoesNotServeTheOldValue()
    {
        var maxDuration = TimeSpan.FromSeconds(20);
        using var t = TestCache.WithFailSafe(Duration, maxDuration: maxDuration);
        await t.SetThenAdvance("k", "old", maxDuration);
        var factory = TestFactory<string>.Failing(Values.SourceDown);

        Assert.Equal(Values.SourceDown, await Expect.Left(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Expect.None(await t.Cache.TryGet<string>("k", new FusionCacheEntryOptions { AllowStaleOnReadOnly = true }));
    }

    [Fact]
    public async Task GetOrSet_WhenFailSafeMaxDurationIsBelowDuration_KeepsTheEntryForItsDuration()
    {
        using var t = TestCache.WithFailSafe(Duration, maxDuration: TimeSpan.FromSeconds(1));
        var factory = TestFactory<string>.Returning("v");
        await t.Cache.GetOrSet<string>("k", factory.Invoke);

        t.Advance(Duration - Tick);

        Assert.Equal("v", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(1, factory.Calls);
    }
}
