using Fusion.Tests.Support;
using LanguageExt;

namespace Fusion.Tests;

/// <summary>The fail-safe default value overload: a fallback when fail-safe is on and nothing stale exists.</summary>
public sealed class FailSafeDefaultValueTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Throttle = TimeSpan.FromSeconds(5);
    private static readonly Option<string> Default = Option<string>.Some("default");

    [Fact]
    public async Task GetOrSet_WhenFactoryFailsWithoutStaleEntry_ReturnsTheDefaultValue()
    {
        using var t = TestCache.WithFailSafe(Duration, throttle: Throttle);
        var factory = TestFactory<string>.Failing(Values.SourceDown);

        Assert.Equal("default", await Expect.Right(t.Cache.GetOrSet("k", factory.Invoke, Default)));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_AfterServingTheDefaultValue_ServesItWithoutCallingFactoryUntilThrottleElapses()
    {
        using var t = TestCache.WithFailSafe(Duration, throttle: Throttle);
        var factory = TestFactory<string>.Failing(Values.SourceDown);
        await t.Cache.GetOrSet("k", factory.Invoke, Default);

        t.Advance(Throttle - TimeSpan.FromTicks(1));
        Assert.Equal("default", await Expect.Right(t.Cache.GetOrSet("k", factory.Invoke, Default)));
        Assert.Equal(1, factory.Calls);

        t.Advance(TimeSpan.FromTicks(1));
        factory.NowReturns("real");
        Assert.Equal("real", await Expect.Right(t.Cache.GetOrSet("k", factory.Invoke, Default)));
        Assert.Equal(2, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenFactoryThrowsWithoutStaleEntry_ReturnsTheDefaultValue()
    {
        using var t = TestCache.WithFailSafe(Duration);
        var factory = TestFactory<string>.Throwing(new InvalidOperationException("db down"));

        Assert.Equal("default", await Expect.Right(t.Cache.GetOrSet("k", factory.Invoke, Default)));
    }

    [Fact]
    public async Task GetOrSet_WhenFailSafeIsOff_IgnoresTheDefaultValueAndReturnsTheError()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var factory = TestFactory<string>.Failing(Values.SourceDown);

        Assert.Equal(Values.SourceDown, await Expect.Left(t.Cache.GetOrSet("k", factory.Invoke, Default)));
    }

    [Fact]
    public async Task GetOrSet_WhenAStaleEntryExists_PrefersItToTheDefaultValue()
    {
        using var t = TestCache.WithFailSafe(Duration);
        await t.SetThenAdvance("k", "stale", Duration);
        var factory = TestFactory<string>.Failing(Values.SourceDown);

        Assert.Equal("stale", await Expect.Right(t.Cache.GetOrSet("k", factory.Invoke, Default)));
    }

    [Fact]
    public async Task GetOrSet_WhenFactorySucceeds_ReturnsItsValueNotTheDefault()
    {
        using var t = TestCache.WithFailSafe(Duration);
        var factory = TestFactory<string>.Returning("real");

        Assert.Equal("real", await Expect.Right(t.Cache.GetOrSet("k", factory.Invoke, Default)));
    }

    [Fact]
    public async Task GetOrSet_WhenTheDefaultIsNone_ReturnsTheError()
    {
        using var t = TestCache.WithFailSafe(Duration);
        var factory = TestFactory<string>.Failing(Values.SourceDown);

        Assert.Equal(Values.SourceDown, await Expect.Left(t.Cache.GetOrSet("k", factory.Invoke, Option<string>.None)));
    }
}
