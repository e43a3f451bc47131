using Fusion.Tests.Support;
using LanguageExt;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Fusion.Tests.Hosting;

/// <summary>Fusion registered with dependency injection: the default and named caches, options from configuration
/// validated at start-up, and the container's logger, clock and Redis connection.</summary>
public sealed class DependencyInjectionTests
{
    private static Task<Either<Err, string>> Value(string v) => Task.FromResult(Either<Err, string>.Right(v));

    [Fact]
    public async Task TheDefaultCache_IsOneSingleton_AndWorks()
    {
        await using var services = new ServiceCollection().AddFusionCaching(o => o.Duration = TimeSpan.FromMinutes(1)).Services.BuildServiceProvider();

        var cache = services.GetRequiredService<FusionCache>();

        Assert.Same(cache, services.GetRequiredService<FusionCache>());
        Assert.Same(cache, services.GetRequiredKeyedService<FusionCache>(FusionCacheBuilder.DefaultName));
        Assert.Same(cache, services.GetRequiredService<FusionCacheProvider>().GetCache());
        Assert.Equal(FusionCacheBuilder.DefaultName, cache.Name);
        Assert.Equal(TimeSpan.FromMinutes(1), cache.DefaultEntryOptions.Duration);
        Assert.Equal("v", await Expect.Right(cache.GetOrSet("k", () => Value("v"))));
    }

    [Fact]
    public void NamedCaches_AreDistinct_AndResolvedByNameAndAsKeyedServices()
    {
        var collection = new ServiceCollection();
        collection.AddFusionCaching("orders", o => o.Capacity = 10);
        collection.AddFusionCaching("users", o => o.Capacity = 20);
        using var services = collection.BuildServiceProvider();
        var provider = services.GetRequiredService<FusionCacheProvider>();

        var orders = services.GetRequiredKeyedService<FusionCache>("orders");
        var users = provider.GetCache("users");

        Assert.NotSame(orders, users);
        Assert.Same(orders, provider.GetCache("orders"));
        Assert.Equal((10, "orders"), (orders.Capacity, orders.Name));
        Assert.Equal((20, "users"), (users.Capacity, users.Name));
        Assert.Null(services.GetService<FusionCache>()); // no default cache was registered
        var e = Assert.Throws<ArgumentException>(() => provider.GetCache("nope"));
        Assert.Contains("'nope'", e.Message);
        Assert.Contains("'orders'", e.Message);
    }

    [Fact]
    public void RegisteringANameTwice_Throws()
    {
        var collection = new ServiceCollection();
        collection.AddFusionCaching("a");

        var e = Assert.Throws<InvalidOperationException>(() => collection.AddFusionCaching("a"));

        Assert.Contains("'a'", e.Message);
    }

    [Fact]
    public void Options_AreBoundFromConfiguration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fusion:Caches:orders:Capacity"] = "500",
            ["Fusion:Caches:orders:Duration"] = "00:05:00",
            ["Fusion:Caches:orders:IsFailSafeEnabled"] = "true",
            ["Fusion:Caches:orders:FactorySoftTimeout"] = "00:00:00.100",
            ["Fusion:Caches:orders:EagerRefreshThreshold"] = "0.8",
        }).Build();
        using var services = new ServiceCollection().AddFusionCaching("orders", configuration.GetSection("Fusion:Caches:orders")).Services.BuildServiceProvider();

        var cache = services.GetRequiredKeyedService<FusionCache>("orders");

        Assert.Equal(500, cache.Capacity);
        var o = cache.DefaultEntryOptions;
        Assert.Equal((TimeSpan.FromMinutes(5), true, TimeSpan.FromMilliseconds(100), (double?)0.8),
            (o.Duration, o.IsFailSafeEnabled, o.FactorySoftTimeout, o.EagerRefreshThreshold));
    }

    [Fact]
    public async Task InvalidOptions_FailTheHostsStart_NamingTheCacheTheOptionAndTheValue()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["orders:Duration"] = "-00:00:01",
            ["orders:Capacity"] = "0",
            ["orders:EagerRefreshThreshold"] = "1.5",
            ["orders:RedisConnectionString"] = "localhost:6379,password=hunter2,notAnOption=1",
        }).Build();
        var host = Host.CreateDefaultBuilder().ConfigureServices(s => s.AddFusionCaching("orders", configuration.GetSection("orders"))).Build();

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Fusion cache 'orders': Duration = -00:00:01 is invalid", e.Message);
        Assert.Contains("Capacity = 0 is invalid", e.Message);
        Assert.Contains("EagerRefreshThreshold = 1.5 is invalid", e.Message);
        Assert.Contains("RedisConnectionString is not a StackExchange.Redis configuration string", e.Message);
        Assert.DoesNotContain("hunter2", e.Message);
        host.Dispose();
    }

    [Fact]
    public async Task TheContainersClockAndLogger_AreTheCaches()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var log = new RecordingLogger();
        var collection = new ServiceCollection();
        collection.AddSingleton<TimeProvider>(time);
        collection.AddLogging(b => b.AddProvider(new SingleLoggerProvider(log)));
        collection.AddFusionCaching(o =>
        {
            o.Duration = TimeSpan.FromSeconds(10);
            o.RedisConnectionString = "127.0.0.1:1,connectTimeout=100"; // nothing listens: the cache logs that it works on L1
        });
        await using var services = collection.BuildServiceProvider();
        var cache = services.GetRequiredService<FusionCache>();
        var calls = 0;
        Task<Either<Err, string>> Counted() { calls++; return Value($"v{calls}"); }

        await Expect.Right(cache.GetOrSet("k", Counted));
        time.Advance(TimeSpan.FromSeconds(11)); // the container's clock, not the system's, expires it
        Assert.Equal("v2", await Expect.Right(cache.GetOrSet("k", Counted)));

        Assert.True(await log.Logged("Redis"), "nothing logged through the container's logger");
    }

    [Fact]
    public async Task DisposingTheContainer_DisposesItsCaches()
    {
        var services = new ServiceCollection().AddFusionCaching().Services.BuildServiceProvider();
        var cache = services.GetRequiredService<FusionCache>();

        await services.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await cache.Set("k", "v"));
    }

    [Fact]
    public async Task AsHybridCache_MakesFusionTheApplicationsHybridCache()
    {
        var collection = new ServiceCollection();
        collection.AddHybridCache(); // Microsoft's, registered first: Fusion's replaces it
        collection.AddFusionCaching(o => o.Duration = TimeSpan.FromMinutes(1)).AsHybridCache();
        await using var services = collection.BuildServiceProvider();

        var hybrid = services.GetRequiredService<Microsoft.Extensions.Caching.Hybrid.HybridCache>();
        var calls = 0;
        for (var i = 0; i < 2; i++)
            Assert.Equal(42, await hybrid.GetOrCreateAsync("k", _ => { calls++; return ValueTask.FromResult(42); }));

        Assert.Same(services.GetRequiredService<FusionCache>(), Assert.IsType<FusionHybridCache>(hybrid).Cache);
        Assert.Equal(1, calls);
        Assert.Equal(42, Expect.Some(await services.GetRequiredService<FusionCache>().TryGet<int>("k")));
    }

    private sealed class SingleLoggerProvider(ILogger logger) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => logger;
        public void Dispose() { }
    }
}
