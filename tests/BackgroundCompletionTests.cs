using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>
/// A timed-out factory that keeps running (AllowTimedOutFactoryBackgroundCompletion): its later success updates
/// the cache, never over a newer value (invariant 8); when not allowed, its token is cancelled at the timeout.
/// </summary>
public sealed class BackgroundCompletionTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Soft = TimeSpan.FromSeconds(1);
    private static readonly FusionCacheEntryOptions SoftOnly = new() { FactorySoftTimeout = Soft };

    private static async Task<(TestCache Cache, TestFactory<string> Factory)> SoftTimedOutFlight(FusionCacheEntryOptions options)
    {
        var t = TestCache.WithFailSafe(Duration);
        await t.SetThenAdvance("k", "old", Duration);
        var factory = TestFactory<string>.Waiting();
        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, options);
        t.Advance(Soft);
        Assert.Equal("old", await Expect.Right(result));
        return (t, factory);
    }

    [Fact]
    public async Task GetOrSet_WhenSoftTimedOutFactoryLaterSucceeds_NextReadReturnsItsValueWithoutCallingFactory()
    {
        var (t, factory) = await SoftTimedOutFlight(SoftOnly);
        using var _ = t;
        Assert.False(factory[1].Context.CancellationToken.IsCancellationRequested);

        factory[1].Succeed("new");
        await Eventually.Assert(async () => await t.Cached<string>("k") == "new", "the background completion reaches L1");

        Assert.Equal("new", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke, SoftOnly)));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenHardTimedOutFactoryLaterSucceeds_ItsValueIsCached()
    {
        using var t = TestCache.WithFailSafe(Duration);
        var factory = TestFactory<string>.Waiting();
        var hardOnly = new FusionCacheEntryOptions { FactoryHardTimeout = Soft };
        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, hardOnly);
        t.Advance(Soft);
        Expect.Left<Err.FactoryTimedOut, string>(await Eventually.Within(result));

        factory[1].Succeed("late");
        await Eventually.Assert(async () => await t.Cached<string>("k") == "late", "the background completion reaches L1");

        Assert.Equal("late", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke, hardOnly)));
        Assert.Equal(1, factory.Calls);
    }

    // Found with the simulator: the default stored at a timed-out wait carried the flight's stamp as its origin, so the
    // flight's own result (same stamp, the node's origin) landed over it only on a node whose origin was larger.
    [Theory]
    [InlineData(1L)]
    [InlineData(long.MaxValue)]
    public async Task ADefaultServedAtTheSoftTimeout_GivesWayToTheFlightsLaterResult_WhateverTheNodesOrigin(long origin)
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var cache = new FusionCacheBuilder().WithDuration(Duration).WithFailSafe().WithTimeProvider(time)
            .WithClock(_ => new Runtime.Clock(time, origin)).Build();
        var factory = TestFactory<string>.Waiting();
        var result = cache.GetOrSet<string>("k", factory.Invoke, LanguageExt.Option<string>.Some("default"), SoftOnly);
        time.Advance(Soft);
        Assert.Equal("default", await Expect.Right(result));

        factory[1].Succeed("real");

        var stale = new FusionCacheEntryOptions { AllowStaleOnReadOnly = true };
        await Eventually.Assert(async () => (await cache.TryGet<string>("k", stale)).IfNone("") == "real", "the flight's result replaces the default");
    }

    [Fact]
    public async Task BackgroundCompletion_WhenASetHappenedMeanwhile_DoesNotOverwriteTheNewerValue()
    {
        var (t, factory) = await SoftTimedOutFlight(SoftOnly);
        using var _ = t;
        t.Advance(TimeSpan.FromSeconds(1));
        await t.Cache.Set("k", "set meanwhile");

        factory[1].Succeed("older result");
        await t.Log.Logged("dropped"); // the cache reports the dropped completion; the assertion below decides

        Assert.Equal("set meanwhile", await t.Cached<string>("k"));
    }

    [Fact]
    public async Task SoftTimeout_WhenBackgroundCompletionIsNotAllowed_CancelsTheFactoryToken()
    {
        var options = new FusionCacheEntryOptions { FactorySoftTimeout = Soft, AllowTimedOutFactoryBackgroundCompletion = false };
        var (t, factory) = await SoftTimedOutFlight(options);
        using var _ = t;

        Assert.True(factory[1].Context.CancellationToken.IsCancellationRequested);
    }

    [Fact]
    public async Task HardTimeout_WhenBackgroundCompletionIsNotAllowed_CancelsTheFactoryTokenAndReturnsTimedOut()
    {
        using var t = TestCache.WithFailSafe(Duration);
        var factory = TestFactory<string>.Waiting();
        var options = new FusionCacheEntryOptions { FactoryHardTimeout = Soft, AllowTimedOutFactoryBackgroundCompletion = false };

        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, options);
        Assert.False(factory[1].Context.CancellationToken.IsCancellationRequested);
        t.Advance(Soft);

        Expect.Left<Err.FactoryTimedOut, string>(await Eventually.Within(result));
        Assert.True(factory[1].Context.CancellationToken.IsCancellationRequested);
    }
}
