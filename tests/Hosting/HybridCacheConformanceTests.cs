using System.Runtime.CompilerServices;
using Fusion.Tests.Support;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace Fusion.Tests.Hosting;

/// <summary>
/// The same HybridCache scenarios against Microsoft's implementation (<c>AddHybridCache()</c>, memory only) and against
/// <see cref="FusionHybridCache"/> over a memory-only Fusion cache, so that any difference shows as a failure of one of
/// the two. Where the two legitimately differ, <see cref="HybridCacheDifferenceTests"/> says so, one test per difference.
/// </summary>
public sealed class HybridCacheConformanceTests
{
    public static TheoryData<string> Implementations => [HybridCaches.Microsoft, HybridCaches.Fusion];

    [Theory, MemberData(nameof(Implementations))]
    public async Task GetOrCreate_RunsTheFactoryOnce_ThenHits(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        var source = new Source<string>("v");

        Assert.Equal("v", await subject.Cache.GetOrCreateAsync("k", source.Get));
        Assert.Equal("v", await subject.Cache.GetOrCreateAsync("k", source.Get));
        Assert.Equal(1, source.Calls);
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task GetOrCreate_PassesTheStateToTheFactory(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);

        Assert.Equal(42, await subject.Cache.GetOrCreateAsync("k", 21, static (half, _) => new ValueTask<int>(half * 2)));
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task FiftyConcurrentCallers_OnAColdKey_ShareOneFactoryRun(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        var gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var made = 0;
        var callers = Enumerable.Range(0, 50).Select(_ => Task.Run(() =>
        {
            var call = subject.Cache.GetOrCreateAsync("k", async _ =>
            {
                Interlocked.Increment(ref calls);
                return await gate.Task;
            }).AsTask();
            Interlocked.Increment(ref made);
            return call;
        })).ToArray();

        await Eventually.Assert(() => Volatile.Read(ref made) == 50, "all 50 callers have called");
        gate.SetResult("shared");

        var values = await Task.WhenAll(callers).WaitAsync(Eventually.Bound);
        Assert.All(values, v => Assert.Equal("shared", v));
        Assert.Equal(1, calls);
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task AThrowingFactory_ItsExceptionReachesTheCaller_AsItIs_AndTheNextCallRunsTheFactoryAgain(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        InvalidOperationException? thrown = null;
        var calls = 0;

        var caught = await Assert.ThrowsAsync<InvalidOperationException>(async () => await subject.Cache.GetOrCreateAsync<string>("k", async _ =>
        {
            calls++;
            await Task.Yield();
            thrown = new InvalidOperationException("the source is down");
            Source.FailWith(thrown);
            return "never";
        }));

        Assert.Same(thrown, caught);
        Assert.Equal("the source is down", caught.Message);
        Assert.Contains(nameof(Source.FailWith), caught.StackTrace); // the stack it was thrown with, not a rethrow's
        Assert.Equal("v", await subject.Cache.GetOrCreateAsync("k", _ => { calls++; return new ValueTask<string>("v"); }));
        Assert.Equal(2, calls);
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task AFactoryThatThrowsBeforeReturningATask_ItsExceptionReachesTheCaller(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);

        var caught = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
            await subject.Cache.GetOrCreateAsync<int>("k", _ => throw new ArgumentOutOfRangeException("id", "no such id")));

        Assert.Equal("id", caught.ParamName);
        Assert.Equal(7, await subject.Cache.GetOrCreateAsync("k", _ => new ValueTask<int>(7)));
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task ConcurrentCallers_OfAFailingFactory_AllGetItsException_FromOneRun(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var failure = new TimeoutException("the database did not answer");
        var callers = Enumerable.Range(0, 10).Select(_ => subject.Cache.GetOrCreateAsync<string>("k", async _ =>
        {
            Interlocked.Increment(ref calls);
            await gate.Task;
            throw failure;
        }).AsTask()).ToArray();

        gate.SetResult();

        foreach (var caller in callers)
            Assert.Same(failure, await Assert.ThrowsAsync<TimeoutException>(() => caller.WaitAsync(Eventually.Bound)));
        Assert.Equal(1, calls);
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task SetAsync_ThenGetOrCreate_ReturnsTheSetValue_WithoutTheFactory(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        var source = new Source<string>("from the source");

        await subject.Cache.SetAsync("k", "set");
        Assert.Equal("set", await subject.Cache.GetOrCreateAsync("k", source.Get));
        await subject.Cache.SetAsync("k", "set again");
        Assert.Equal("set again", await subject.Cache.GetOrCreateAsync("k", source.Get));
        Assert.Equal(0, source.Calls);
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task RemoveAsync_MakesTheNextCallRunTheFactory(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        var source = new Source<string>("v");
        foreach (var key in new[] { "a", "b", "c" }) await subject.Cache.GetOrCreateAsync(key, source.Get);

        await subject.Cache.RemoveAsync("a");
        await subject.Cache.GetOrCreateAsync("a", source.Get);
        Assert.Equal(4, source.Calls);

        await subject.Cache.RemoveAsync(["b", "c"]);
        await subject.Cache.RemoveAsync((IEnumerable<string>)null!); // null is none
        foreach (var key in new[] { "a", "b", "c" }) await subject.Cache.GetOrCreateAsync(key, source.Get);
        Assert.Equal(6, source.Calls);
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task RemoveByTagAsync_RemovesTheTaggedEntries_AndLeavesTheOthers(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        var cache = subject.Cache;
        var tags = new Dictionary<string, string[]> { ["red"] = ["red"], ["blue"] = ["blue"], ["both"] = ["red", "blue"], ["none"] = [] };
        var source = new Source<string>("v");
        async Task<HashSet<string>> Recomputed()
        {
            var recomputed = new HashSet<string>();
            foreach (var (key, keyTags) in tags)
            {
                var before = source.Calls;
                await cache.GetOrCreateAsync(key, source.Get, tags: keyTags);
                if (source.Calls > before) recomputed.Add(key);
            }
            return recomputed;
        }
        static string Keys(HashSet<string> keys) => string.Join(" ", keys.Order());
        await Recomputed();
        await cache.SetAsync("green", "set", tags: ["green"]);

        await cache.RemoveByTagAsync("red");
        Assert.Equal("both red", Keys(await Recomputed()));

        await cache.RemoveByTagAsync(["blue", "nothing tagged this"]);
        Assert.Equal("blue both", Keys(await Recomputed()));

        await cache.RemoveByTagAsync("green");
        Assert.Equal("v", await cache.GetOrCreateAsync("green", source.Get));

        await cache.RemoveByTagAsync(" "); // white space: nothing
        await cache.RemoveByTagAsync((IEnumerable<string>)null!); // null is none
        Assert.Empty(await Recomputed());

        await cache.RemoveByTagAsync("*"); // every entry, tagged or not
        Assert.Equal("blue both none red", Keys(await Recomputed()));
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task InvalidTags_AreArgumentErrors(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        var source = new Source<string>("v");

        await Assert.ThrowsAsync<ArgumentException>(async () => await subject.Cache.GetOrCreateAsync("k", source.Get, tags: ["*"]));
        await Assert.ThrowsAsync<ArgumentException>(async () => await subject.Cache.GetOrCreateAsync("k", source.Get, tags: ["ok", " "]));
        await Assert.ThrowsAsync<ArgumentException>(async () => await subject.Cache.SetAsync("k", "v", tags: ["*"]));
        Assert.Equal("v", await subject.Cache.GetOrCreateAsync("k", source.Get, tags: ["ok"]));
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task NullValues_RoundTrip_AndAreCached(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        var source = new Source<string?>(null);
        var nullableSource = new Source<int?>(null);

        Assert.Null(await subject.Cache.GetOrCreateAsync("string", source.Get));
        Assert.Null(await subject.Cache.GetOrCreateAsync("string", source.Get));
        Assert.Null(await subject.Cache.GetOrCreateAsync("int?", nullableSource.Get));
        Assert.Null(await subject.Cache.GetOrCreateAsync("int?", nullableSource.Get));
        Assert.Equal(1, source.Calls);
        Assert.Equal(1, nullableSource.Calls);

        await subject.Cache.SetAsync<Product?>("product", null);
        Assert.Null(await subject.Cache.GetOrCreateAsync("product", _ => new ValueTask<Product?>(Product.Sample)));
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task ValueTypesAndRecords_RoundTrip(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);

        await subject.Cache.SetAsync("int", 42);
        await subject.Cache.SetAsync("point", (X: 1, Y: 2));
        await subject.Cache.SetAsync("product", Product.Sample);

        Assert.Equal(42, await subject.Cache.GetOrCreateAsync("int", _ => new ValueTask<int>(-1)));
        Assert.Equal((1, 2), await subject.Cache.GetOrCreateAsync("point", _ => new ValueTask<(int, int)>((0, 0))));
        Assert.Equal(Product.Sample, await subject.Cache.GetOrCreateAsync("product", _ => new ValueTask<Product>(new Product(0, "", null, []))));
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task DisableLocalCacheWrite_NothingIsKept_WithoutL2(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        var source = new Source<string>("v");
        var noWrite = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableLocalCacheWrite };

        Assert.Equal("v", await subject.Cache.GetOrCreateAsync("k", source.Get, noWrite));
        Assert.Equal("v", await subject.Cache.GetOrCreateAsync("k", source.Get, noWrite));
        Assert.Equal(2, source.Calls);
        Assert.Equal("v", await subject.Cache.GetOrCreateAsync("k", source.Get));
        Assert.Equal(3, source.Calls);

        // Once cached, a call that only skips the write reads it as usual.
        Assert.Equal("v", await subject.Cache.GetOrCreateAsync("k", source.Get, noWrite));
        Assert.Equal(3, source.Calls);
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task DisableLocalCacheRead_RunsTheFactory_AndItsValueIsCached(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        await subject.Cache.SetAsync("k", "old");
        var noRead = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableLocalCacheRead };

        Assert.Equal("new", await subject.Cache.GetOrCreateAsync("k", _ => new ValueTask<string>("new"), noRead));
        Assert.Equal("new", await subject.Cache.GetOrCreateAsync("k", _ => new ValueTask<string>("newer")));
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task DisableUnderlyingData_NeverCallsTheFactory_ReturnsDefaultOnAMiss_AndCachesNothing(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        var source = new Source<string>("v");
        var intSource = new Source<int>(7);
        var cacheOnly = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableUnderlyingData };

        Assert.Null(await subject.Cache.GetOrCreateAsync("k", source.Get, cacheOnly));
        Assert.Equal(0, await subject.Cache.GetOrCreateAsync("int", intSource.Get, cacheOnly));
        Assert.Equal(0, source.Calls + intSource.Calls);

        Assert.Equal("v", await subject.Cache.GetOrCreateAsync("k", source.Get));
        Assert.Equal(1, source.Calls);
        Assert.Equal("v", await subject.Cache.GetOrCreateAsync("k", source.Get, cacheOnly));
        await subject.Cache.SetAsync("int", 5);
        Assert.Equal(5, await subject.Cache.GetOrCreateAsync("int", intSource.Get, cacheOnly));
        Assert.Equal(1, source.Calls + intSource.Calls);
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task AnAlreadyCancelledToken_Throws_WithoutRunningTheFactory(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        var source = new Source<string>("v");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await subject.Cache.GetOrCreateAsync("k", source.Get, cancellationToken: new CancellationToken(canceled: true)));
        Assert.Equal(0, source.Calls);
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task TheOnlyCallerCancelling_EndsItsWait_AndCancelsTheFactorysToken(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        var factory = new Blocking();
        using var cts = new CancellationTokenSource();

        var call = subject.Cache.GetOrCreateAsync("k", factory.Run, cancellationToken: cts.Token).AsTask();
        var token = await factory.Started.WaitAsync(Eventually.Bound);
        await cts.CancelAsync();

        var caught = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(Eventually.Bound));
        Assert.Equal(cts.Token, caught.CancellationToken);
        await Eventually.Assert(() => token.IsCancellationRequested, "the factory's token is cancelled");

        // Nothing was cached: once the cancelled run has ended, the next caller runs the factory again.
        await factory.Ended.WaitAsync(Eventually.Bound);
        await Eventually.Assert(async () =>
        {
            try { return await subject.Cache.GetOrCreateAsync("k", _ => new ValueTask<string>("v")) == "v"; }
            catch (OperationCanceledException) { return false; } // the cancelled run is still leaving
        }, "a new call gets a new factory run's value");
    }

    [Theory, MemberData(nameof(Implementations))]
    public async Task OneOfTwoCallersCancelling_EndsOnlyItsWait_AndTheFactoryRunsOnForTheOther(string implementation)
    {
        using var subject = HybridCaches.Create(implementation);
        var factory = new Blocking();
        using var cts = new CancellationTokenSource();

        var quitter = subject.Cache.GetOrCreateAsync("k", factory.Run, cancellationToken: cts.Token).AsTask();
        var token = await factory.Started.WaitAsync(Eventually.Bound);
        var patient = subject.Cache.GetOrCreateAsync("k", factory.Run).AsTask();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => quitter.WaitAsync(Eventually.Bound));
        Assert.False(token.IsCancellationRequested);
        factory.Release("v");
        Assert.Equal("v", await patient.WaitAsync(Eventually.Bound));
        Assert.Equal(1, factory.Calls);
    }
}

/// <summary>
/// Where <see cref="FusionHybridCache"/> and Microsoft's HybridCache legitimately differ: each test states Fusion's
/// behaviour and, for contrast, Microsoft's (so a change on either side shows here).
/// </summary>
public sealed class HybridCacheDifferenceTests
{
    [Fact]
    public async Task SetAsync_WithDisableLocalCacheWrite_DropsTheOlderLocalCopy_WhereMicrosoftKeepsServingIt()
    {
        var noLocalWrite = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableLocalCacheWrite };
        foreach (var implementation in new[] { HybridCaches.Fusion, HybridCaches.Microsoft })
        {
            using var subject = HybridCaches.Create(implementation);
            await subject.Cache.SetAsync("k", "old");
            await subject.Cache.SetAsync("k", "new, not kept here", noLocalWrite);

            var read = await subject.Cache.GetOrCreateAsync("k", _ => new ValueTask<string>("from the source"));

            // Fusion: no later read on this node returns a value older than a write it made (invariant 11).
            Assert.Equal(implementation == HybridCaches.Fusion ? "from the source" : "old", read);
        }
    }

    [Fact]
    public async Task AnEmptyKey_IsAnArgumentError_WhereMicrosoftRunsTheFactoryUncached()
    {
        using (var fusion = HybridCaches.Create(HybridCaches.Fusion))
            await Assert.ThrowsAsync<ArgumentException>(async () => await fusion.Cache.GetOrCreateAsync("", _ => new ValueTask<string>("v")));

        using var microsoft = HybridCaches.Create(HybridCaches.Microsoft);
        var source = new Source<string>("v");
        Assert.Equal("v", await microsoft.Cache.GetOrCreateAsync("", source.Get));
        Assert.Equal("v", await microsoft.Cache.GetOrCreateAsync("", source.Get));
        Assert.Equal(2, source.Calls);
    }

    [Fact]
    public async Task AKeyOverMicrosoftsLengthLimit_IsCached_WhereMicrosoftRunsTheFactoryEveryTime()
    {
        var key = new string('k', 2000); // Microsoft's MaximumKeyLength defaults to 1024
        foreach (var implementation in new[] { HybridCaches.Fusion, HybridCaches.Microsoft })
        {
            using var subject = HybridCaches.Create(implementation);
            var source = new Source<string>("v");
            await subject.Cache.GetOrCreateAsync(key, source.Get);
            await subject.Cache.GetOrCreateAsync(key, source.Get);
            Assert.Equal(implementation == HybridCaches.Fusion ? 1 : 2, source.Calls);
        }
    }

    [Fact]
    public async Task AKeyReadAsAnotherType_IsAnError_WhereMicrosoftTreatsItAsAMiss()
    {
        using (var fusion = HybridCaches.Create(HybridCaches.Fusion))
        {
            await fusion.Cache.SetAsync("k", "a string");
            var source = new Source<int>(1);
            var caught = await Assert.ThrowsAsync<FusionHybridCacheException>(async () => await fusion.Cache.GetOrCreateAsync("k", source.Get));
            Assert.IsType<Err.WrongType>(caught.Error);
            Assert.Equal("k", caught.Key);
            Assert.Contains("'k'", caught.Message);
            Assert.Equal(0, source.Calls);
            Assert.Equal("a string", await fusion.Cache.GetOrCreateAsync("k", _ => new ValueTask<string>("other")));
        }

        using var microsoft = HybridCaches.Create(HybridCaches.Microsoft);
        await microsoft.Cache.SetAsync("k", "a string");
        Assert.Equal(1, await microsoft.Cache.GetOrCreateAsync("k", _ => new ValueTask<int>(1)));
    }

    [Fact]
    public async Task AHit_ReturnsTheCachedInstance_WhereMicrosoftReturnsACopyOfAMutableType()
    {
        foreach (var implementation in new[] { HybridCaches.Fusion, HybridCaches.Microsoft })
        {
            using var subject = HybridCaches.Create(implementation);
            var first = await subject.Cache.GetOrCreateAsync("k", _ => new ValueTask<Product>(Product.Sample with { }));
            var second = await subject.Cache.GetOrCreateAsync("k", _ => new ValueTask<Product>(Product.Sample));

            Assert.Equal(first, second);
            Assert.Equal(implementation == HybridCaches.Fusion, ReferenceEquals(first, second));
        }
    }

    [Fact]
    public async Task WithFailSafeOnTheFusionCache_AThrowingFactory_ServesTheStaleValue_InsteadOfThrowing()
    {
        using var t = TestCache.Create(b => b.WithDuration(TimeSpan.FromSeconds(10)).WithFailSafe());
        var cache = new FusionHybridCache(t.Cache);
        await cache.SetAsync("k", "stale but good");
        t.Advance(TimeSpan.FromSeconds(11));

        Assert.Equal("stale but good", await cache.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("down")));
    }

    [Fact]
    public async Task AFactoryPastFusionsHardTimeout_IsATimeoutException_NamingTheKey_AndItsTokenIsCancelled()
    {
        using var fusion = new FusionCacheBuilder().WithFactoryTimeouts(hard: TimeSpan.FromMilliseconds(50)).Build();
        var cache = new FusionHybridCache(fusion);
        var factory = new Blocking();

        var caught = await Assert.ThrowsAsync<TimeoutException>(async () => await cache.GetOrCreateAsync("slow:1", factory.Run).AsTask().WaitAsync(Eventually.Bound));

        Assert.Contains("'slow:1'", caught.Message);
        var token = await factory.Started;
        await Eventually.Assert(() => token.IsCancellationRequested, "the factory nobody waits for is cancelled");
    }

    [Fact]
    public async Task TheCacheDisposedDuringAWait_IsAnOperationCanceledException_NamingTheKey()
    {
        var fusion = new FusionCacheBuilder().Build();
        var cache = new FusionHybridCache(fusion, ownsCache: true);
        var factory = new Blocking();
        var call = cache.GetOrCreateAsync("k", factory.Run).AsTask();
        await factory.Started.WaitAsync(Eventually.Bound);

        cache.Dispose();

        var caught = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(Eventually.Bound));
        Assert.Contains("'k'", caught.Message);
        Assert.Throws<ObjectDisposedException>(() => { _ = cache.GetOrCreateAsync("k", factory.Run); });
    }

    [Fact]
    public async Task Dispose_LeavesACacheItDoesNotOwn()
    {
        using var fusion = new FusionCacheBuilder().Build();
        new FusionHybridCache(fusion).Dispose();

        await fusion.Set("k", 1);
        Assert.Equal(1, (await fusion.TryGet<int>("k")).IfNone(0));
    }
}

/// <summary>How <see cref="FusionHybridCache"/> maps HybridCache's entry options onto Fusion's, and what the lifetimes do.</summary>
public sealed class HybridCacheOptionsMappingTests
{
    private static readonly TimeSpan DefaultL2 = TimeSpan.FromMinutes(30);

    [Fact]
    public void Expiration_IsBothLifetimes_WhenLocalCacheExpirationIsNotSet()
    {
        var o = FusionHybridCache.Map(new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(10) }, DefaultL2, null);
        Assert.Equal(TimeSpan.FromMinutes(10), o.Duration);
        Assert.Equal(TimeSpan.FromMinutes(10), o.DistributedCacheDuration);
    }

    [Fact]
    public void LocalCacheExpiration_IsTheL1Lifetime_AtMostExpiration()
    {
        var shorter = FusionHybridCache.Map(new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(10), LocalCacheExpiration = TimeSpan.FromMinutes(1) }, DefaultL2, null);
        Assert.Equal(TimeSpan.FromMinutes(1), shorter.Duration);
        Assert.Equal(TimeSpan.FromMinutes(10), shorter.DistributedCacheDuration);

        var longer = FusionHybridCache.Map(new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(10), LocalCacheExpiration = TimeSpan.FromHours(1) }, DefaultL2, null);
        Assert.Equal(TimeSpan.FromMinutes(10), longer.Duration);
    }

    [Fact]
    public void LocalCacheExpirationAlone_LeavesL2AtTheCachesDefault()
    {
        var o = FusionHybridCache.Map(new HybridCacheEntryOptions { LocalCacheExpiration = TimeSpan.FromMinutes(1) }, DefaultL2, null);
        Assert.Equal(TimeSpan.FromMinutes(1), o.Duration);
        Assert.Equal(DefaultL2, o.DistributedCacheDuration);
    }

    [Fact]
    public void NoOptions_LeaveTheLifetimesToTheCache_AndTheFactoryCancellableWhenNobodyWaits()
    {
        var defaults = new FusionCacheEntryOptions { Duration = TimeSpan.FromMinutes(7) }.Resolve(global::Fusion.Core.EntryOptionsModule.Default);
        foreach (var options in new HybridCacheEntryOptions?[] { null, new() })
        {
            var resolved = FusionHybridCache.Map(options, DefaultL2, null).Resolve(defaults);
            Assert.Equal(TimeSpan.FromMinutes(7), resolved.Duration);
            Assert.True(resolved.DistributedCacheDuration.IsNone);
            Assert.False(resolved.AllowTimedOutFactoryBackgroundCompletion);
        }
    }

    [Theory]
    [InlineData(HybridCacheEntryFlags.DisableLocalCacheRead, true, false, false, false)]
    [InlineData(HybridCacheEntryFlags.DisableLocalCacheWrite, false, true, false, false)]
    [InlineData(HybridCacheEntryFlags.DisableDistributedCacheRead, false, false, true, false)]
    [InlineData(HybridCacheEntryFlags.DisableDistributedCacheWrite, false, false, false, true)]
    [InlineData(HybridCacheEntryFlags.DisableLocalCache | HybridCacheEntryFlags.DisableDistributedCache, true, true, true, true)]
    [InlineData(HybridCacheEntryFlags.DisableCompression | HybridCacheEntryFlags.DisableUnderlyingData, false, false, false, false)]
    public void Flags_MapOntoTheSkipOptions(HybridCacheEntryFlags flags, bool memoryRead, bool memoryWrite, bool distributedRead, bool distributedWrite)
    {
        var o = FusionHybridCache.Map(new HybridCacheEntryOptions { Flags = flags }, DefaultL2, null);
        Assert.Equal((memoryRead, memoryWrite, distributedRead, distributedWrite),
            (o.SkipMemoryCacheRead, o.SkipMemoryCacheWrite, o.SkipDistributedCacheRead, o.SkipDistributedCacheWrite));
    }

    [Fact]
    public void ANegativeLifetime_IsAnArgumentError()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FusionHybridCache.Map(new HybridCacheEntryOptions { Expiration = TimeSpan.FromSeconds(-1) }, DefaultL2, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => FusionHybridCache.Map(new HybridCacheEntryOptions { LocalCacheExpiration = TimeSpan.FromSeconds(-1) }, DefaultL2, null));
    }

    [Fact]
    public async Task LocalCacheExpiration_EndsTheL1Copy_OnTheCachesClock()
    {
        using var t = TestCache.Create(b => b.WithDuration(TimeSpan.FromHours(1)));
        var cache = new FusionHybridCache(t.Cache);
        var source = new Source<string>("v");
        var options = new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(10), LocalCacheExpiration = TimeSpan.FromMinutes(1) };

        await cache.GetOrCreateAsync("k", source.Get, options);
        t.Advance(TimeSpan.FromSeconds(59));
        await cache.GetOrCreateAsync("k", source.Get, options);
        Assert.Equal(1, source.Calls);
        t.Advance(TimeSpan.FromSeconds(2));
        await cache.GetOrCreateAsync("k", source.Get, options);
        Assert.Equal(2, source.Calls);
    }

    [Fact]
    public async Task AFreshHit_AllocatesNothing_AndOptionsOfTheSameValuesAreNotMappedAgain()
    {
        using var fusion = new FusionCacheBuilder().Build();
        var cache = new FusionHybridCache(fusion);
        await cache.SetAsync("int", 1);
        await cache.SetAsync("string", "v");
        var options = new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(1), Flags = HybridCacheEntryFlags.DisableCompression };
        string[] tags = ["tag"]; // one array: `tags: ["tag"]` in the call would allocate a list per call

        Assert.Equal(0, HitBytes(() => cache.GetOrCreateAsync("int", static _ => new ValueTask<int>(2))));
        Assert.Equal(0, HitBytes(() => cache.GetOrCreateAsync("string", static _ => new ValueTask<string>("w"), options)));
        Assert.Equal(0, HitBytes(() => cache.GetOrCreateAsync("string", "state", static (s, _) => new ValueTask<string>(s), options, tags)));
        // A new options object per call, as callers often write it: that object is all a hit allocates (a new mapping
        // would add Fusion options, their resolved record and its cache entry: some 300 B more).
        Assert.InRange(HitBytes(() => cache.GetOrCreateAsync("int", static _ => new ValueTask<int>(2),
            new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(1), Flags = HybridCacheEntryFlags.DisableCompression })), 1, 64);
        Assert.Equal(1, await cache.GetOrCreateAsync("int", static _ => new ValueTask<int>(2), options));
    }

    [Fact]
    public async Task WithEagerRefreshOn_AHitGoesThroughGetOrSet_AndStartsTheRefresh()
    {
        using var t = TestCache.Create(b => b.WithDefaultEntryOptions(new FusionCacheEntryOptions { Duration = TimeSpan.FromMinutes(1), EagerRefreshThreshold = 0.5 }));
        var cache = new FusionHybridCache(t.Cache);
        var source = new Source<string>("v");
        await cache.GetOrCreateAsync("k", source.Get);
        t.Advance(TimeSpan.FromSeconds(40));

        Assert.Equal("v", await cache.GetOrCreateAsync("k", source.Get));
        await Eventually.Assert(() => source.Calls == 2, "the hit past the threshold refreshed the entry");
    }

    /// <summary>Bytes one synchronous hit allocates, once warm.</summary>
    internal static long HitBytes<T>(Func<ValueTask<T>> hit)
    {
        long allocated = long.MaxValue;
        for (var round = 0; round < 5; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1000; i++)
            {
                var pending = hit();
                if (!pending.IsCompletedSuccessfully) throw new InvalidOperationException("a hit must complete synchronously");
            }
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return allocated / 1000;
    }
}

/// <summary>The two implementations under test.</summary>
internal static class HybridCaches
{
    public const string Microsoft = "Microsoft";
    public const string Fusion = "Fusion";

    public static Subject Create(string implementation)
    {
        if (implementation == Microsoft)
        {
            var services = new ServiceCollection().AddHybridCache().Services.BuildServiceProvider();
            return new Subject(services.GetRequiredService<HybridCache>(), services);
        }
        var fusion = new FusionCacheBuilder().WithDuration(TimeSpan.FromMinutes(5)).Build();
        var cache = new FusionHybridCache(fusion, ownsCache: true);
        return new Subject(cache, cache);
    }

    internal sealed class Subject(HybridCache cache, IDisposable owner) : IDisposable
    {
        public HybridCache Cache { get; } = cache;

        public void Dispose() => owner.Dispose();
    }
}

/// <summary>A factory returning one value, counting its calls.</summary>
internal sealed class Source<T>(T value)
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public ValueTask<T> Get(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        return new ValueTask<T>(value);
    }
}

internal static class Source
{
    /// <summary>Throws <paramref name="error"/> from a frame of its own, so a test can find it in the stack trace.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FailWith(Exception error) => throw error;
}

/// <summary>A factory that waits until released (or its token is cancelled), telling when it starts and with what token.</summary>
internal sealed class Blocking
{
    private readonly TaskCompletionSource<CancellationToken> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _calls;

    public Task<CancellationToken> Started => _started.Task;

    /// <summary>Completes when a run has returned or thrown.</summary>
    public Task Ended => _ended.Task;

    public int Calls => Volatile.Read(ref _calls);

    public void Release(string value) => _release.SetResult(value);

    public async ValueTask<string> Run(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        _started.TrySetResult(cancellationToken);
        try
        {
            return await _release.Task.WaitAsync(Timeout.InfiniteTimeSpan, cancellationToken);
        }
        finally
        {
            _ended.TrySetResult();
        }
    }
}

/// <summary>A record with a nested collection and a null member: what a cached DTO looks like.</summary>
public sealed record Product(int Id, string Name, string? Note, IReadOnlyList<string> Labels)
{
    public static readonly Product Sample = new(42, "Widget", null, ["a", "b"]);

    public bool Equals(Product? other) =>
        other is not null && Id == other.Id && Name == other.Name && Note == other.Note && Labels.SequenceEqual(other.Labels);

    public override int GetHashCode() => HashCode.Combine(Id, Name, Note, Labels.Count);
}
