using Fusion.Tests.Support;
using LanguageExt;

namespace Fusion.Tests;

/// <summary>
/// Soft and hard factory timeouts (SEMANTICS §2–3). The cache waits with <c>Task.WaitAsync(timeout, timeProvider)</c>,
/// so advancing the fake clock fires the timeout.
/// </summary>
public sealed class FactoryTimeoutTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Soft = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Hard = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);
    private static readonly FusionCacheEntryOptions SoftOnly = new() { FactorySoftTimeout = Soft };
    private static readonly FusionCacheEntryOptions HardOnly = new() { FactoryHardTimeout = Hard };

    private static async Task<TestCache> CacheWithStaleValue()
    {
        var t = TestCache.WithFailSafe(Duration);
        await t.SetThenAdvance("k", "old", Duration);
        return t;
    }

    [Fact]
    public async Task GetOrSet_WhenSoftTimeoutElapsesWithFallback_ReturnsTheFallbackAtTheSoftTimeout()
    {
        using var t = await CacheWithStaleValue();
        var factory = TestFactory<string>.Waiting();

        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, SoftOnly);
        t.Advance(Soft - Tick);
        Assert.False(result.IsCompleted);
        t.Advance(Tick);

        Assert.Equal("old", await Expect.Right(result));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenSoftTimeoutElapsesWithFailSafeDefault_ReturnsTheDefault()
    {
        using var t = TestCache.WithFailSafe(Duration);
        var factory = TestFactory<string>.Waiting();

        var result = t.Cache.GetOrSet("k", factory.Invoke, Option<string>.Some("default"), SoftOnly);
        t.Advance(Soft);

        Assert.Equal("default", await Expect.Right(result));
    }

    [Fact]
    public async Task GetOrSet_WhenSoftTimeoutElapsesWithoutFallback_WaitsForTheFactory()
    {
        using var t = TestCache.WithFailSafe(Duration);
        var factory = TestFactory<string>.Waiting();

        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, SoftOnly);
        t.Advance(Soft * 10);
        factory[1].Succeed("slow but fine");

        Assert.Equal("slow but fine", await Expect.Right(result));
    }

    [Fact]
    public async Task GetOrSet_WhenSoftTimeoutElapsesWithStaleEntryButFailSafeOff_WaitsForTheFactory()
    {
        using var t = await CacheWithStaleValue();
        var factory = TestFactory<string>.Waiting();
        var options = new FusionCacheEntryOptions { FactorySoftTimeout = Soft, IsFailSafeEnabled = false };

        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, options);
        t.Advance(Soft * 10);
        factory[1].Succeed("new");

        Assert.Equal("new", await Expect.Right(result));
    }

    [Fact]
    public async Task GetOrSet_WhenHardTimeoutElapsesWithFallback_ReturnsTheFallback()
    {
        using var t = await CacheWithStaleValue();
        var factory = TestFactory<string>.Waiting();

        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, HardOnly);
        t.Advance(Hard);

        Assert.Equal("old", await Expect.Right(result));
    }

    [Fact]
    public async Task GetOrSet_WhenHardTimeoutElapsesWithoutFallback_ReturnsFactoryTimedOut()
    {
        using var t = TestCache.WithFailSafe(Duration);
        var factory = TestFactory<string>.Waiting();

        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, HardOnly);
        t.Advance(Hard - Tick);
        Assert.False(result.IsCompleted);
        t.Advance(Tick);

        var error = Expect.Left<Err.FactoryTimedOut, string>(await Eventually.Within(result));
        Assert.Equal(Hard, error.After);
    }

    [Fact]
    public async Task GetOrSet_WhenHardTimeoutElapsesWithStaleEntryButFailSafeOff_ReturnsFactoryTimedOut()
    {
        using var t = await CacheWithStaleValue();
        var factory = TestFactory<string>.Waiting();
        var options = new FusionCacheEntryOptions { FactoryHardTimeout = Hard, IsFailSafeEnabled = false };

        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, options);
        t.Advance(Hard);

        Expect.Left<Err.FactoryTimedOut, string>(await Eventually.Within(result));
    }

    [Fact]
    public async Task GetOrSet_WithSoftAndHardTimeoutsAndNoFallback_TimesOutAtTheHardTimeoutOnly()
    {
        using var t = TestCache.WithFailSafe(Duration);
        var factory = TestFactory<string>.Waiting();
        var options = new FusionCacheEntryOptions { FactorySoftTimeout = Soft, FactoryHardTimeout = Hard };

        var first = t.Cache.GetOrSet<string>("first", factory.Invoke, options);
        t.Advance(Hard - Tick);
        factory[1].Succeed("in time");
        Assert.Equal("in time", await Expect.Right(first));

        var second = t.Cache.GetOrSet<string>("second", factory.Invoke, options);
        t.Advance(Hard);
        var error = Expect.Left<Err.FactoryTimedOut, string>(await Eventually.Within(second));
        Assert.Equal(Hard, error.After);
    }

    [Fact]
    public async Task GetOrSet_WhenFactoryAnswersBeforeTheSoftTimeout_ReturnsItsValue()
    {
        using var t = await CacheWithStaleValue();
        var factory = TestFactory<string>.Waiting();

        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, SoftOnly);
        t.Advance(Soft - Tick);
        factory[1].Succeed("new");

        Assert.Equal("new", await Expect.Right(result));
    }
}
