using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Fusion.Tests.Docs;

/// <summary>The C# blocks of docs/how-to/redis-setup.md and docs/how-to/migrating.md that need a Redis server or a host:
/// compiled, not run. The page's configuration example is bound and validated (no server needed: the cache is not built).</summary>
public sealed partial class HowToSnippetsRedis
{
    internal static void ConnectionString()
    {
        // --- redis-setup: connection string ---
        var password = Environment.GetEnvironmentVariable("REDIS_PASSWORD");   // from your secret store; never logged by Fusion
        using var cache = new FusionCacheBuilder()
            .WithRedis($"redis.internal:6380,ssl=true,sslHost=redis.internal,user=orders-app,password={password}", cacheName: "orders")
            .Build();
        // --- end ---
    }

    internal static async Task ExistingConnection(ConfigurationOptions configuration)
    {
        // --- redis-setup: existing connection ---
        var connection = await ConnectionMultiplexer.ConnectAsync(configuration);   // yours: the cache never disposes it
        using var cache = new FusionCacheBuilder()
            .WithRedis(connection, cacheName: "orders")
            .Build();
        // --- end ---
    }

    internal static void BackplaneOnly(string redis)
    {
        // --- redis-setup: backplane only ---
        using var cache = new FusionCacheBuilder()
            .WithBackplane(redis, cacheName: "orders")   // memory-only nodes; Redis carries only the notifications
            .Build();
        // --- end ---
    }

    internal static void Resilience(string redis)
    {
        // --- redis-setup: resilience ---
        using var cache = new FusionCacheBuilder()
            .WithRedis(redis, cacheName: "orders")
            .WithCircuitBreaker(TimeSpan.FromSeconds(5))         // after a connection-level error, skip Redis for 5 s
            .WithAutoRecovery(
                maxItems: 50_000,                                // keys whose failed L2 writes are kept for replay
                delay: TimeSpan.FromSeconds(2),                  // how often the queue is retried while Redis answers
                maxBytes: 256L * 1024 * 1024,                    // bytes of queued values
                drainOnDispose: TimeSpan.FromSeconds(5))         // how long Dispose waits for the queue
            .WithMaxClockSkew(TimeSpan.FromSeconds(30))          // how far ahead another node's clock may be
            .Build();
        // --- end ---
    }

    internal static void Hosting(HostApplicationBuilder builder)
    {
        // --- redis-setup: hosting ---
        builder.Services.AddFusionCaching("orders", builder.Configuration.GetSection("Fusion:Caches:orders"));
        builder.Services.AddHealthChecks().AddFusionCache("orders");
        // --- end ---
    }

    internal static void HostingInCode(HostApplicationBuilder builder)
    {
        // --- redis-setup: hosting in code ---
        builder.Services.AddFusionCaching("orders", o =>
        {
            o.RedisConnectionString = builder.Configuration["Redis:Orders"];   // e.g. from an environment variable
            o.CircuitBreakerDuration = TimeSpan.FromSeconds(5);
            o.ConfigureBuilder(b => b.WithAutoRecovery(maxItems: 50_000));    // what configuration cannot express
        });
        // --- end ---
    }

    [Fact]
    public void TheConfigurationExample_BindsToFusionCachingOptions_AndIsValid()
    {
        var json = JsonBlocks(File.ReadAllText(Path.Combine(Root(), "docs/how-to/redis-setup.md"))).Single();
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var services = new ServiceCollection();
        services.AddFusionCaching("orders", configuration.GetSection("Fusion:Caches:orders"));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptionsMonitor<FusionCachingOptions>>().Get("orders"); // validates

        Assert.Equal(50_000, options.Capacity);
        Assert.Equal(TimeSpan.FromMinutes(5), options.Duration);
        Assert.True(options.IsFailSafeEnabled);
        Assert.Equal(TimeSpan.FromHours(2), options.FailSafeMaxDuration);
        Assert.Equal(TimeSpan.FromSeconds(30), options.FailSafeThrottleDuration);
        Assert.Equal(TimeSpan.FromMilliseconds(100), options.FactorySoftTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), options.FactoryHardTimeout);
        Assert.Equal(0.8, options.EagerRefreshThreshold);
        Assert.Equal("redis.internal:6380,ssl=true,sslHost=redis.internal,user=orders-app", options.RedisConnectionString);
        Assert.Equal("orders", options.RedisCacheName);
        Assert.Equal(TimeSpan.FromSeconds(5), options.CircuitBreakerDuration);
        Assert.Equal(TimeSpan.FromSeconds(1), options.DistributedCacheHardTimeout);
    }

    [Fact]
    public void AnInvalidValueInConfiguration_FailsValidation_NamingTheCacheAndTheOption()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new("Fusion:Caches:orders:EagerRefreshThreshold", "1.5")]).Build();
        var services = new ServiceCollection();
        services.AddFusionCaching("orders", configuration.GetSection("Fusion:Caches:orders"));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptionsMonitor<FusionCachingOptions>>().Get("orders"));
        Assert.Contains("EagerRefreshThreshold", error.Message);
        Assert.Contains("orders", error.Message);
    }

    private static IEnumerable<string> JsonBlocks(string markdown)
    {
        foreach (Match m in JsonBlock().Matches(markdown.ReplaceLineEndings("\n"))) yield return m.Groups[1].Value;
    }

    [GeneratedRegex("^```json\n(.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex JsonBlock();

    private static string Root()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Fusion.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Fusion.sln not found above " + AppContext.BaseDirectory);
    }
}
