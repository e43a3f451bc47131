using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>Eager refresh (SEMANTICS §1 RefreshDue): past the threshold a hit is served at once and starts one background refresh.</summary>
public sealed class EagerRefreshTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RefreshAt = TimeSpan.FromSeconds(5);
    private static readonly FusionCacheEntryOptions Eager = new() { Duration = Duration, EagerRefreshThreshold = 0.5 };

    private static async Task<(TestCache Cache, TestFactory<string> Factory)> CacheWithValue()
    {
        var t = TestCache.Create();
        var factory = TestFactory<string>.Returning("v1");
        Assert.Equal("v1", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke, Eager)));
        return (t, factory);
    }

    /// <summary>The refresh runs on the thread pool (none of it on the hit's thread): wait for its factory call.</summary>
    private static Task RefreshStarted(TestFactory<string> factory) =>
        Eventually.Assert(() => factory.Calls == 2, "the refresh factory is called");

    [Fact]
    public async Task GetOrSet_BeforeTheThreshold_DoesNotRefresh()
    {
        var (t, factory) = await CacheWithValue();
        using var _ = t;

        t.Advance(RefreshAt - TimeSpan.FromTicks(1));

        Assert.Equal("v1", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke, Eager)));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_PastTheThreshold_ReturnsTheOldValueAtOnceAndStartsExactlyOneRefresh()
    {
        var (t, factory) = await CacheWithValue();
        using var _ = t;
        factory.NowWaits();
        t.Advance(RefreshAt);

        for (var i = 0; i < 5; i++)
        {
            var hit = t.Cache.GetOrSet<string>("k", factory.Invoke, Eager);
            Assert.True(hit.IsCompletedSuccessfully, "a refresh-due hit is answered synchronously");
            Assert.Equal("v1", Expect.Right(await hit));
        }

        await RefreshStarted(factory);
        Assert.Equal(2, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_AfterTheRefreshCompletes_ServesTheNewValueWithoutAnotherCall()
    {
        var (t, factory) = await CacheWithValue();
        using var _ = t;
        factory.NowWaits();
        t.Advance(RefreshAt);
        await t.Cache.GetOrSet<string>("k", factory.Invoke, Eager);
        await RefreshStarted(factory);

        factory[2].Succeed("v2");
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the refresh flight ends");

        Assert.Equal("v2", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke, Eager)));
        Assert.Equal(2, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenTheRefreshFails_KeepsServingTheOldValue()
    {
        var (t, factory) = await CacheWithValue();
        using var _ = t;
        factory.NowWaits();
        t.Advance(RefreshAt);
        await t.Cache.GetOrSet<string>("k", factory.Invoke, Eager);
        await RefreshStarted(factory);

        factory[2].Fail(Values.SourceDown);
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the refresh flight ends");

        Assert.Equal("v1", Expect.Some(await t.Cache.TryGet<string>("k")));
    }

    [Fact]
    public async Task GetOrSet_WhenTheValueExpiresDuringTheRefresh_JoinsItInsteadOfCallingTheFactoryAgain()
    {
        var (t, factory) = await CacheWithValue();
        using var _ = t;
        factory.NowWaits();
        t.Advance(RefreshAt);
        await t.Cache.GetOrSet<string>("k", factory.Invoke, Eager);
        await RefreshStarted(factory);

        t.Advance(Duration);
        var miss = t.Cache.GetOrSet<string>("k", factory.Invoke, Eager);
        factory[2].Succeed("v2");

        Assert.Equal("v2", await Expect.Right(miss));
        Assert.Equal(2, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_PastTheThresholdOnAKeyHoldingAnotherType_ReturnsWrongTypeWithoutCallingTheFactory()
    {
        using var t = TestCache.Create();
        await t.Cache.Set("k", 42, Eager);
        var factory = TestFactory<string>.Returning("text");
        t.Advance(RefreshAt);

        Expect.Left<Err.WrongType, string>(await t.Cache.GetOrSet<string>("k", factory.Invoke, Eager));

        Assert.Equal(0, factory.Calls);
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "no refresh flight remains");
        Assert.Equal(42, Expect.Some(await t.Cache.TryGet<int>("k")));
    }
}
