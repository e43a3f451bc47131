using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>SEMANTICS §3 step 4: a failing factory with and without a fallback, fail-safe on and off (invariant 3).</summary>
public sealed class FailSafeTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);

    private static async Task<TestCache> CacheWithStaleValue(string value = "old")
    {
        var t = TestCache.WithFailSafe(Duration);
        await t.SetThenAdvance("k", value, Duration);
        return t;
    }

    [Fact]
    public async Task GetOrSet_WhenFactoryReturnsLeftWithStaleEntry_ReturnsStaleValue()
    {
        using var t = await CacheWithStaleValue();
        var factory = TestFactory<string>.Failing(Values.SourceDown);

        Assert.Equal("old", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenFactoryThrowsWithStaleEntry_ReturnsStaleValue()
    {
        using var t = await CacheWithStaleValue();
        var factory = TestFactory<string>.Throwing(new InvalidOperationException("db down"));

        Assert.Equal("old", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
    }

    [Fact]
    public async Task GetOrSet_WhenFactoryReturnsFaultedTaskWithStaleEntry_ReturnsStaleValue()
    {
        using var t = await CacheWithStaleValue();
        var factory = TestFactory<string>.Faulting(new TimeoutException("db slow"));

        Assert.Equal("old", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
    }

    [Fact]
    public async Task GetOrSet_WhenFactoryRunsWithStaleEntry_ItsContextCarriesTheStaleValue()
    {
        using var t = await CacheWithStaleValue();
        var factory = TestFactory<string>.Returning("new");

        Assert.Equal("new", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal("old", Expect.Some(factory[1].Context.StaleValue));
    }

    [Fact]
    public async Task GetOrSet_WhenFactoryReturnsLeftWithoutStaleEntry_ReturnsTheFactorysError()
    {
        using var t = TestCache.WithFailSafe(Duration);
        var factory = TestFactory<string>.Failing(Err.Of("db down"));

        var error = Expect.Left<Err.FactoryFailed, string>(await t.Cache.GetOrSet<string>("k", factory.Invoke));

        Assert.Equal("db down", error.Reason);
        Assert.Null(error.Exception);
    }

    [Fact]
    public async Task GetOrSet_WhenFactoryThrowsWithoutStaleEntry_ReturnsFactoryFailedCarryingTheException()
    {
        using var t = TestCache.WithFailSafe(Duration);
        var thrown = new InvalidOperationException("db down");
        var factory = TestFactory<string>.Throwing(thrown);

        var error = Expect.Left<Err.FactoryFailed, string>(await t.Cache.GetOrSet<string>("k", factory.Invoke));

        Assert.Same(thrown, error.Exception);
        Assert.Equal("db down", error.Reason);
    }

    [Fact]
    public async Task GetOrSet_WhenFactoryReturnsFaultedTaskWithoutStaleEntry_ReturnsFactoryFailedCarryingTheException()
    {
        using var t = TestCache.WithFailSafe(Duration);
        var thrown = new TimeoutException("db slow");
        var factory = TestFactory<string>.Faulting(thrown);

        var error = Expect.Left<Err.FactoryFailed, string>(await t.Cache.GetOrSet<string>("k", factory.Invoke));

        Assert.Same(thrown, error.Exception);
    }

    [Fact]
    public async Task GetOrSet_WhenFailSafeIsOffForTheCallAndAStaleEntryExists_ReturnsTheError()
    {
        using var t = await CacheWithStaleValue();
        var factory = TestFactory<string>.Failing(Values.SourceDown);
        var noFailSafe = new FusionCacheEntryOptions { IsFailSafeEnabled = false };

        Assert.Equal(Values.SourceDown, await Expect.Left(t.Cache.GetOrSet<string>("k", factory.Invoke, noFailSafe)));
    }

    [Fact]
    public async Task GetOrSet_WithFailSafeOffWhileAnotherCallersFailSafeThrottlesTheStaleValue_ReturnsTheError()
    {
        using var t = await CacheWithStaleValue();
        var factory = TestFactory<string>.Failing(Values.SourceDown);
        Assert.Equal("old", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        var noFailSafe = new FusionCacheEntryOptions { IsFailSafeEnabled = false };

        // Invariant 3: the value is stale (IsStale, only re-stored by fail-safe); this caller turned fail-safe off.
        Assert.Equal(Values.SourceDown, await Expect.Left(t.Cache.GetOrSet<string>("k", factory.Invoke, noFailSafe)));
    }

    [Fact]
    public async Task GetOrSet_WhenFailSafeIsOffAndTheOldEntryExpired_ReturnsTheError()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        await t.SetThenAdvance("k", "old", Duration);
        var factory = TestFactory<string>.Failing(Values.SourceDown);

        Assert.Equal(Values.SourceDown, await Expect.Left(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenFactoryFailsWithStaleEntryOfAnotherType_ReturnsAnErrorNotTheStaleValue()
    {
        using var t = TestCache.WithFailSafe(Duration);
        await t.SetThenAdvance("k", 42, Duration);
        var factory = TestFactory<string>.Failing(Values.SourceDown);

        Expect.Left(await t.Cache.GetOrSet<string>("k", factory.Invoke));
    }
}
