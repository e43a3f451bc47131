using Fusion.Tests.Support;
using LanguageExt;

namespace Fusion.Tests;

/// <summary>
/// SkipMemoryCacheRead / SkipMemoryCacheWrite (SEMANTICS §4b, docs/semantics.md): a call that skips L1 reads or writes
/// only L2 and the factory, is still single-flighted, and never lets a later read here see a value older than its write.
/// </summary>
public sealed class SkipMemoryCacheTests
{
    private static readonly FusionCacheEntryOptions SkipRead = new() { SkipMemoryCacheRead = true };
    private static readonly FusionCacheEntryOptions SkipWrite = new() { SkipMemoryCacheWrite = true };
    private static readonly FusionCacheEntryOptions SkipBoth = new() { SkipMemoryCache = true };

    [Fact]
    public async Task SkipRead_IgnoresAFreshL1Value_AndStoresWhatTheFactoryGives()
    {
        using var t = TestCache.Create(b => b.WithDuration(TimeSpan.FromMinutes(1)));
        await t.Cache.Set("k", "cached");
        var factory = TestFactory<string>.Returning("from source");

        Assert.Equal("from source", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke, SkipRead)));
        Assert.True((await t.Cache.TryGet<string>("k", SkipRead)).IsNone, "TryGet skipping L1 on a cache without L2 finds nothing");

        Assert.Equal("from source", await t.Cached<string>("k")); // written to L1: the flag only skips the read
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task SkipWrite_ReturnsTheFactorysValue_WithoutStoringIt()
    {
        using var t = TestCache.Create(b => b.WithDuration(TimeSpan.FromMinutes(1)));
        var factory = TestFactory<string>.Returning("v");

        Assert.Equal("v", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke, SkipWrite)));
        Assert.Equal("v", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke, SkipWrite)));

        Assert.Equal(2, factory.Calls);
        Assert.Null(await t.Cached<string>("k"));
    }

    [Fact]
    public async Task SkipWrite_DropsTheOlderCopy_SoNoLaterReadSeesAValueOlderThanTheWrite()
    {
        using var t = TestCache.Create(b => b.WithDuration(TimeSpan.FromMinutes(1)));
        await t.Cache.Set("k", "old");
        await t.Cache.Set("k", "new", SkipWrite);
        Assert.Null(await t.Cached<string>("k")); // not "old" (invariant 11), and "new" was not stored

        await t.Cache.Set("j", "old");
        Assert.Equal("new", await Expect.Right(t.Cache.GetOrSet<string>("j", TestFactory<string>.Returning("new").Invoke, SkipBoth)));
        Assert.Null(await t.Cached<string>("j"));
    }

    [Fact]
    public async Task SkipWrite_WithFailSafe_ServesTheStaleValue_WithoutStoringTheActivation()
    {
        using var t = TestCache.WithFailSafe(TimeSpan.FromSeconds(10), throttle: TimeSpan.FromSeconds(30));
        await t.SetThenAdvance("k", "stale", TimeSpan.FromSeconds(11));
        var failing = TestFactory<string>.Failing(Values.SourceDown);

        Assert.Equal("stale", await Expect.Right(t.Cache.GetOrSet<string>("k", failing.Invoke, SkipWrite)));
        Assert.Equal("stale", await Expect.Right(t.Cache.GetOrSet<string>("k", failing.Invoke, SkipWrite)));

        Assert.Equal(2, failing.Calls); // no throttle was stored: each call asks the source
        Assert.True(t.Cache.Memory.TryGet("k", out var entry));
        Assert.False(entry.IsStale); // L1 holds the entry as it was written, untouched
    }

    [Fact]
    public async Task SkipRead_WithFailSafe_DoesNotFallBackOnL1()
    {
        using var t = TestCache.WithFailSafe(TimeSpan.FromSeconds(10));
        await t.SetThenAdvance("k", "stale", TimeSpan.FromSeconds(11));

        var error = await Expect.Left(t.Cache.GetOrSet<string>("k", TestFactory<string>.Failing(Values.SourceDown).Invoke, SkipRead));

        Assert.Equal(Values.SourceDown, error);
        Assert.Equal("stale", await Expect.Right(t.Cache.GetOrSet<string>("k", TestFactory<string>.Failing(Values.SourceDown).Invoke)));
    }

    [Fact]
    public async Task CallsThatSkipL1_AreStillSingleFlighted_WithEachOther_AndWithOrdinaryCallers()
    {
        using var t = TestCache.Create(b => b.WithDuration(TimeSpan.FromMinutes(1)));
        await t.Cache.Set("k", "cached");
        var factory = TestFactory<string>.Waiting();
        const int Callers = 200;
        var joined = 0;
        var allJoined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The first caller skips L1 and starts the flight; the rest, on the thread pool, alternate skip flags. Ordinary
        // callers are answered by the fresh L1 value at once; those that skip the read join the flight.
        var first = t.Cache.GetOrSet<string>("k", factory.Invoke, SkipBoth);
        var callers = Enumerable.Range(0, Callers).Select(i => Task.Run(async () =>
        {
            var pending = t.Cache.GetOrSet<string>("k", factory.Invoke, (i % 3) switch { 0 => SkipRead, 1 => SkipBoth, _ => null });
            if (Interlocked.Increment(ref joined) == Callers) allJoined.SetResult();
            return await pending;
        })).ToArray();
        await allJoined.Task.WaitAsync(Eventually.Bound);

        factory[1].Succeed("from source");
        var results = await Task.WhenAll(callers).WaitAsync(Eventually.Bound);

        Assert.Equal(1, factory.Calls);
        Assert.Equal("from source", await Expect.Right(first));
        for (var i = 0; i < Callers; i++)
            Assert.Equal(i % 3 == 2 ? "cached" : "from source", Expect.Right(results[i]));
    }

    [Fact]
    public async Task SkipMemoryCache_SetsBothFlags_AndAdaptiveOptionsMaySetThem()
    {
        Assert.True(SkipBoth.SkipMemoryCacheRead && SkipBoth.SkipMemoryCacheWrite && SkipBoth.SkipMemoryCache);
        Assert.False(SkipRead.SkipMemoryCache);

        using var t = TestCache.Create(b => b.WithDuration(TimeSpan.FromMinutes(1)));
        var factory = TestFactory<string>.From(ctx =>
        {
            ctx.EntryOptions = new FusionCacheEntryOptions { SkipMemoryCacheWrite = true }; // e.g. a response marked private
            return Task.FromResult(Either<Err, string>.Right("v"));
        });
        Assert.Equal("v", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Null(await t.Cached<string>("k"));
    }
}
