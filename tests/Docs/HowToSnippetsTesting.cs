using LanguageExt;
using Microsoft.Extensions.Time.Testing;

namespace Fusion.Tests.Docs;

/// <summary>The C# blocks of docs/how-to/testing-with-a-fake-clock.md: each is a test, and runs.</summary>
public sealed class HowToSnippetsTesting
{
    // --- testing: the service ---
    public interface IStockSource
    {
        Task<int> Count(string sku, CancellationToken token);
    }

    public sealed class StockService(FusionCache cache, IStockSource source)
    {
        private static readonly FusionCacheEntryOptions Options = new() { Duration = TimeSpan.FromMinutes(5), IsFailSafeEnabled = true };

        public async Task<string> Describe(string sku)
        {
            var count = await cache.GetOrSet($"stock:{sku}", ctx => source.Count(sku, ctx.CancellationToken), Options);
            return count.Match(Right: n => $"{sku}: {n} in stock", Left: err => $"{sku}: unknown ({err.Message})");
        }
    }
    // --- end ---

    private sealed class FakeStockSource : IStockSource
    {
        public int Calls;
        public int Stock = 3;
        public bool Down;

        public Task<int> Count(string sku, CancellationToken token)
        {
            Interlocked.Increment(ref Calls);
            return Down ? Task.FromException<int>(new HttpRequestException("stock service down")) : Task.FromResult(Stock);
        }
    }

    // --- testing: a test of your service ---
    [Fact]
    public async Task Describe_ServesTheLastCount_WhileTheSourceIsDown()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var cache = new FusionCacheBuilder().WithTimeProvider(time).Build();
        var source = new FakeStockSource { Stock = 3 };
        var service = new StockService(cache, source);

        Assert.Equal("kettle: 3 in stock", await service.Describe("kettle"));
        source.Down = true;
        time.Advance(TimeSpan.FromMinutes(6));                                  // the cached count is stale

        Assert.Equal("kettle: 3 in stock", await service.Describe("kettle"));  // fail-safe: the last count
        Assert.Equal(2, source.Calls);
    }
    // --- end ---

    [Fact]
    public async Task Expiry()
    {
        // --- testing: a cache on a fake clock ---
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var cache = new FusionCacheBuilder()
            .WithTimeProvider(time)                  // every timestamp, expiry and timeout of the cache: time moves when you say
            .WithDuration(TimeSpan.FromMinutes(1))
            .Build();
        // --- end ---

        // --- testing: expiry ---
        var calls = 0;
        Task<string> Load(FactoryContext ctx) => Task.FromResult($"v{++calls}");

        Assert.Equal("v1", (await cache.GetOrSet("k", Load)).IfLeft(""));
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal("v1", (await cache.GetOrSet("k", Load)).IfLeft(""));   // still fresh: no call
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("v2", (await cache.GetOrSet("k", Load)).IfLeft(""));   // expired at 1 min: the factory ran again
        // --- end ---
    }

    [Fact]
    public async Task FailSafeThrottling()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var cache = new FusionCacheBuilder().WithTimeProvider(time).WithDuration(TimeSpan.FromMinutes(1)).Build();

        // --- testing: fail-safe throttling ---
        var up = true;
        var calls = 0;
        Task<string> Load(FactoryContext ctx)
        {
            calls++;
            return up ? Task.FromResult("v1") : Task.FromException<string>(new TimeoutException("source down"));
        }
        var options = new FusionCacheEntryOptions { IsFailSafeEnabled = true, FailSafeThrottleDuration = TimeSpan.FromSeconds(30) };

        await cache.GetOrSet("k", Load, options);                                     // t = 0: v1
        up = false;
        time.Advance(TimeSpan.FromMinutes(1));                                        // v1 is stale
        Assert.Equal("v1", (await cache.GetOrSet("k", Load, options)).IfLeft(""));   // the source fails: v1 is served
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal("v1", (await cache.GetOrSet("k", Load, options)).IfLeft(""));   // throttled: the source is not called
        Assert.Equal(2, calls);
        time.Advance(TimeSpan.FromSeconds(1));
        await cache.GetOrSet("k", Load, options);                                     // 30 s on: the source is tried again
        Assert.Equal(3, calls);
        // --- end ---
    }

    [Fact]
    public async Task EagerRefresh()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var cache = new FusionCacheBuilder().WithTimeProvider(time).Build();

        // --- testing: eager refresh ---
        var calls = 0;
        Task<string> Load(FactoryContext ctx) => Task.FromResult($"v{Interlocked.Increment(ref calls)}");
        var eager = new FusionCacheEntryOptions { Duration = TimeSpan.FromSeconds(10), EagerRefreshThreshold = 0.5 };

        await cache.GetOrSet("k", Load, eager);                                        // v1
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal("v1", (await cache.GetOrSet("k", Load, eager)).IfLeft(""));      // answered at once; a refresh starts
        await WaitUntil(async () => (await cache.TryGet<string>("k")).IfNone("") == "v2");   // it runs on the thread pool
        Assert.Equal(2, calls);
        // --- end ---
    }

    // --- testing: wait until ---
    private static async Task WaitUntil(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);   // real time, only so that a bug fails the test instead of hanging it
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the condition never held");
            await Task.Delay(10);
        }
    }
    // --- end ---
}
