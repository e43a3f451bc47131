using Fusion.Tests.Support;
using LanguageExt;
using Microsoft.Extensions.Time.Testing;

namespace Fusion.Tests.Docs;

/// <summary>The C# blocks of docs/how-to/options-cookbook.md, each run on a fake clock through the timeline the page
/// gives under it (t = 0 is when the clock starts; the assertions are the page's lines).</summary>
public sealed class HowToSnippetsCookbook
{
    public sealed record Rates(int Version)
    {
        public static readonly Rates Empty = new(0);
    }

    public sealed record Token(string Value, TimeSpan ValidFor);

    /// <summary>A source the test turns on and off, or holds until it answers.</summary>
    private sealed class Source<T>
    {
        public int Calls;
        public Func<Task<T>> Next = () => throw new InvalidOperationException("no answer set");

        public Task<T> Load(CancellationToken token)
        {
            Interlocked.Increment(ref Calls);
            return Next();
        }

        public void Answers(T value) => Next = () => Task.FromResult(value);
        public void Fails() => Next = () => Task.FromException<T>(new HttpRequestException("source down"));

        public TaskCompletionSource<T> Hangs()
        {
            var pending = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            Next = () => pending.Task;
            return pending;
        }
    }

    private static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    private static (FusionCache Cache, FakeTimeProvider Time) Cache()
    {
        var time = new FakeTimeProvider(Start);
        return (new FusionCacheBuilder().WithTimeProvider(time).Build(), time);
    }

    private static Task<Either<Err, T>> Within<T>(ValueTask<Either<Err, T>> call) => Eventually.Within(call);

    [Fact]
    public async Task FailSafe_Timeline()
    {
        var (cache, time) = Cache();
        using var _ = cache;
        var source = new Source<Rates>();
        Task<Rates> LoadRates(CancellationToken token) => source.Load(token);
        source.Answers(new Rates(1));

        // --- options-cookbook: fail-safe ---
        var options = new FusionCacheEntryOptions
        {
            Duration = TimeSpan.FromSeconds(10),
            IsFailSafeEnabled = true,
            FailSafeMaxDuration = TimeSpan.FromHours(1),          // a value is kept (as a fallback) for an hour at most
            FailSafeThrottleDuration = TimeSpan.FromSeconds(30),  // a served fallback counts as fresh for 30 s
            MaxFailSafeCycles = 3,                                // at most 3 fallbacks in a row without a success
        };
        var rates = await cache.GetOrSet("rates", ctx => LoadRates(ctx.CancellationToken), options);
        // --- end ---
        ValueTask<Either<Err, Rates>> Call() => cache.GetOrSet("rates", ctx => LoadRates(ctx.CancellationToken), options);

        // t=0: miss, the factory runs: rates v1.
        Assert.Equal(1, Expect.Right(rates).Version);
        Assert.Equal(1, source.Calls);
        // t=10s: v1 is stale; the source is down: the factory fails, v1 is served (cycle 1), fresh again until t=40s.
        source.Fails();
        time.Advance(S(10));
        Assert.Equal(1, Expect.Right(await Call()).Version);
        Assert.Equal(2, source.Calls);
        // t=39s: v1, the factory is not called.
        time.Advance(S(29));
        Assert.Equal(1, Expect.Right(await Call()).Version);
        Assert.Equal(2, source.Calls);
        // t=40s: the factory runs again, fails: v1 (cycle 2); t=70s: v1 (cycle 3).
        time.Advance(S(1));
        Assert.Equal(1, Expect.Right(await Call()).Version);
        time.Advance(S(30));
        Assert.Equal(1, Expect.Right(await Call()).Version);
        Assert.Equal(4, source.Calls);
        // t=100s: no cycle left: the caller gets Left(Err.FactoryFailed).
        time.Advance(S(30));
        Expect.Left<Err.FactoryFailed, Rates>(await Call());
        Assert.Equal(5, source.Calls);
        // t=101s: the source is back: the factory runs, v2 is fresh, the cycles start over.
        source.Answers(new Rates(2));
        time.Advance(S(1));
        Assert.Equal(2, Expect.Right(await Call()).Version);
        Assert.Equal(6, source.Calls);
    }

    [Fact]
    public async Task FailSafe_MaxDuration()
    {
        var (cache, time) = Cache();
        using var _ = cache;
        var source = new Source<Rates>();
        var options = new FusionCacheEntryOptions
        {
            Duration = TimeSpan.FromSeconds(10), IsFailSafeEnabled = true, FailSafeMaxDuration = TimeSpan.FromHours(1),
            FailSafeThrottleDuration = TimeSpan.FromSeconds(30), MaxFailSafeCycles = 3,
        };
        source.Answers(new Rates(1));
        await cache.GetOrSet("rates", ctx => source.Load(ctx.CancellationToken), options);
        source.Fails();

        // one hour after v1 was written, it is no fallback any more: a failure is the caller's error.
        time.Advance(TimeSpan.FromHours(1) - TimeSpan.FromTicks(1));
        Assert.Equal(1, Expect.Right(await cache.GetOrSet("rates", ctx => source.Load(ctx.CancellationToken), options)).Version);
        time.Advance(TimeSpan.FromTicks(1));
        Expect.Left<Err.FactoryFailed, Rates>(await cache.GetOrSet("rates", ctx => source.Load(ctx.CancellationToken), options));
    }

    [Fact]
    public async Task FailSafe_CacheWide()
    {
        // --- options-cookbook: fail-safe for the whole cache ---
        using var cache = new FusionCacheBuilder()
            .WithDuration(TimeSpan.FromSeconds(10))
            .WithFailSafe(maxDuration: TimeSpan.FromHours(1), throttle: TimeSpan.FromSeconds(30), maxCycles: 3)
            .Build();
        // --- end ---

        var defaults = cache.DefaultEntryOptions;
        Assert.True(defaults.IsFailSafeEnabled);
        Assert.Equal(TimeSpan.FromHours(1), defaults.FailSafeMaxDuration);
        Assert.Equal(TimeSpan.FromSeconds(30), defaults.FailSafeThrottleDuration);
        Assert.Equal(3, defaults.MaxFailSafeCycles);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task FailSafe_DefaultValue_Timeline()
    {
        var (cache, time) = Cache();
        using var _ = cache;
        var source = new Source<Rates>();
        Task<Rates> LoadRates(CancellationToken token) => source.Load(token);
        source.Fails();

        // --- options-cookbook: fail-safe default value ---
        var rates = await cache.GetOrSet("rates", ctx => LoadRates(ctx.CancellationToken), failSafeDefaultValue: Rates.Empty,
            options: new FusionCacheEntryOptions { IsFailSafeEnabled = true });
        // --- end ---
        ValueTask<Either<Err, Rates>> Call() => cache.GetOrSet("rates", ctx => LoadRates(ctx.CancellationToken), failSafeDefaultValue: Rates.Empty,
            options: new FusionCacheEntryOptions { IsFailSafeEnabled = true });

        // t=0: nothing cached, the source is down: Rates.Empty is served and kept as a stale entry.
        Assert.Same(Rates.Empty, Expect.Right(rates));
        Assert.Equal(1, source.Calls);
        // t=29s: Rates.Empty, the factory is not called (the default throttle, 30 s).
        time.Advance(S(29));
        Assert.Same(Rates.Empty, Expect.Right(await Call()));
        Assert.Equal(1, source.Calls);
        // t=30s: the factory runs again; the source is back: v1.
        source.Answers(new Rates(1));
        time.Advance(S(1));
        Assert.Equal(1, Expect.Right(await Call()).Version);
        Assert.Equal(2, source.Calls);
    }

    [Fact]
    public async Task Timeouts_Timeline()
    {
        var (cache, time) = Cache();
        using var _ = cache;
        var source = new Source<decimal>();
        Task<decimal> LoadQuote(CancellationToken token) => source.Load(token);
        source.Answers(1m);

        // --- options-cookbook: timeouts ---
        var options = new FusionCacheEntryOptions
        {
            Duration = TimeSpan.FromSeconds(10),
            IsFailSafeEnabled = true,
            FactorySoftTimeout = TimeSpan.FromMilliseconds(100),  // with a fallback at hand: serve it after 100 ms
            FactoryHardTimeout = TimeSpan.FromSeconds(2),          // with or without one: stop waiting after 2 s
            AllowTimedOutFactoryBackgroundCompletion = true,       // the default: the factory finishes and updates the cache
        };
        var quote = await cache.GetOrSet("quote", ctx => LoadQuote(ctx.CancellationToken), options);
        // --- end ---
        ValueTask<Either<Err, decimal>> Call(string key) => cache.GetOrSet(key, ctx => LoadQuote(ctx.CancellationToken), options);

        // t=0: miss, the factory answers at once: 1.
        Assert.Equal(1m, Expect.Right(quote));
        // t=10s: stale; the source hangs. At t=10.1s the caller gets the stale 1 (soft timeout); the factory runs on.
        time.Advance(S(10));
        var slow = source.Hangs();
        var call = Call("quote");
        time.Advance(S(0.1) - TimeSpan.FromTicks(1));
        Assert.False(call.IsCompleted);
        time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(1m, Expect.Right(await Within(call)));
        // t=15s: the factory answers 2: the cache holds it; the next call gets 2 without a factory call.
        time.Advance(S(4.9));
        slow.SetResult(2m);
        await Eventually.Assert(async () => (await cache.TryGet<decimal>("quote")).IfNone(0m) == 2m, "the background completion lands");
        Assert.Equal(2m, Expect.Right(await Call("quote")));
        Assert.Equal(2, source.Calls);

        // A key with nothing cached: no fallback, so the soft timeout does not apply; at t+2s Left(Err.FactoryTimedOut).
        var slowFirst = source.Hangs();
        var first = Call("quote:new");
        time.Advance(S(0.1));
        Assert.False(first.IsCompleted);
        time.Advance(S(1.9));
        Expect.Left<Err.FactoryTimedOut, decimal>(await Within(first));
        // The factory still finishes in the background, and its value is cached.
        slowFirst.SetResult(3m);
        await Eventually.Assert(async () => (await cache.TryGet<decimal>("quote:new")).IfNone(0m) == 3m, "the background completion lands");
        Assert.Equal(3, source.Calls);
    }

    [Fact]
    public async Task EagerRefresh_Timeline()
    {
        var (cache, time) = Cache();
        using var _ = cache;
        var source = new Source<string>();
        Task<string> LoadPrice(CancellationToken token) => source.Load(token);
        source.Answers("v1");

        // --- options-cookbook: eager refresh ---
        var options = new FusionCacheEntryOptions { Duration = TimeSpan.FromSeconds(10), EagerRefreshThreshold = 0.8 };
        var price = await cache.GetOrSet("price", ctx => LoadPrice(ctx.CancellationToken), options);
        // --- end ---
        ValueTask<Either<Err, string>> Call() => cache.GetOrSet("price", ctx => LoadPrice(ctx.CancellationToken), options);

        // t=0: miss: v1.
        Assert.Equal("v1", Expect.Right(price));
        // t=7.9s: v1, no factory call.
        time.Advance(S(7.9));
        Assert.Equal("v1", Expect.Right(await Call()));
        Assert.Equal(1, source.Calls);
        // t=8s: v1 at once, and one refresh starts in the background: v2, fresh until t=18s.
        source.Answers("v2");
        time.Advance(S(0.1));
        var hit = Call();
        Assert.True(hit.IsCompletedSuccessfully);
        Assert.Equal("v1", Expect.Right(await hit));
        await Eventually.Assert(async () => (await cache.TryGet<string>("price")).IfNone("") == "v2", "the refresh lands");
        // t=9s: v2, without a factory call; t=17.9s still v2.
        time.Advance(S(1));
        Assert.Equal("v2", Expect.Right(await Call()));
        time.Advance(S(8.9) - TimeSpan.FromTicks(1));
        Assert.Equal("v2", (await cache.TryGet<string>("price")).IfNone(""));
        Assert.Equal(2, source.Calls);
    }

    [Fact]
    public async Task Jitter_Timeline()
    {
        var (cache, time) = Cache();
        using var _ = cache;

        // --- options-cookbook: jitter ---
        var options = new FusionCacheEntryOptions { Duration = TimeSpan.FromMinutes(5), JitterMaxDuration = TimeSpan.FromSeconds(30) };
        for (var id = 0; id < 100; id++) await cache.Set($"product:{id}", $"product {id}", options);
        // --- end ---

        async Task<int> Fresh()
        {
            var count = 0;
            for (var id = 0; id < 100; id++)
                if ((await cache.TryGet<string>($"product:{id}")).IsSome) count++;
            return count;
        }

        // t=4m59.99s: all 100 fresh; t=5m15s: some expired, some not; t=5m30s: none fresh.
        time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromMilliseconds(10));
        Assert.Equal(100, await Fresh());
        time.Advance(S(15) + TimeSpan.FromMilliseconds(10));
        Assert.InRange(await Fresh(), 1, 99);
        time.Advance(S(15));
        Assert.Equal(0, await Fresh());
    }

    [Fact]
    public async Task SkipFlags()
    {
        var (cache, _) = Cache();
        using var __ = cache;
        var source = new Source<string>();
        Task<string> LoadPrice(CancellationToken token) => source.Load(token);
        await cache.Set("price", "cached");
        source.Answers("from the source");

        // --- options-cookbook: skip flags ---
        // Read past memory: the factory runs even though a fresh copy is in memory, and its value replaces it there.
        var latest = await cache.GetOrSet("price", ctx => LoadPrice(ctx.CancellationToken), new FusionCacheEntryOptions { SkipMemoryCacheRead = true });

        // A one-off: neither read from nor kept in this node's memory (with Redis, still read from and written to L2).
        var report = await cache.GetOrSet("report", ctx => LoadPrice(ctx.CancellationToken), new FusionCacheEntryOptions { SkipMemoryCache = true });

        // With Redis: this call neither reads nor writes L2, and does not tell the other nodes.
        var localOnly = new FusionCacheEntryOptions { SkipDistributedCacheRead = true, SkipDistributedCacheWrite = true, SkipBackplaneNotifications = true };
        // --- end ---

        Assert.Equal("from the source", Expect.Right(latest));
        Assert.Equal("from the source", (await cache.TryGet<string>("price")).IfNone(""));
        Assert.Equal("from the source", Expect.Right(report));
        Assert.True((await cache.TryGet<string>("report")).IsNone);
        Assert.Equal(2, source.Calls);
        await cache.Set("local", "x", localOnly);
        Assert.Equal("x", (await cache.TryGet<string>("local")).IfNone(""));
    }

    [Fact]
    public async Task AdaptiveCaching_Timeline()
    {
        var (cache, time) = Cache();
        using var _ = cache;
        var issued = 0;
        Task<Token> Issue(CancellationToken token) => Task.FromResult(new Token($"token {++issued}", TimeSpan.FromSeconds(30)));

        // --- options-cookbook: adaptive caching ---
        var token = await cache.GetOrSet("token", async ctx =>
        {
            var fresh = await Issue(ctx.CancellationToken);                                // the source says how long it is good for
            ctx.EntryOptions = new FusionCacheEntryOptions { Duration = fresh.ValidFor };  // for this entry only
            return fresh;
        }, new FusionCacheEntryOptions { Duration = TimeSpan.FromMinutes(10) });
        // --- end ---

        async Task<string> Call() =>
            Expect.Right(await cache.GetOrSet("token", async ctx =>
            {
                var fresh = await Issue(ctx.CancellationToken);
                ctx.EntryOptions = new FusionCacheEntryOptions { Duration = fresh.ValidFor };
                return fresh;
            }, new FusionCacheEntryOptions { Duration = TimeSpan.FromMinutes(10) })).Value;

        // t=0: token 1; t=29s: token 1; t=30s: expired (the source's 30 s, not the caller's 10 min): token 2.
        Assert.Equal("token 1", Expect.Right(token).Value);
        time.Advance(S(29));
        Assert.Equal("token 1", await Call());
        time.Advance(S(1));
        Assert.Equal("token 2", await Call());
    }
}
