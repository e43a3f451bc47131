using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Fusion.Tests.Hosting;

/// <summary>The health check against a real Redis that the test stops: healthy, then failing while Redis is away (the
/// cache still serves from memory), degraded while the queue replays, healthy again.</summary>
public sealed class HealthCheckTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static async Task<HealthReport> Check(ServiceProvider services) =>
        await services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

    [Fact]
    public async Task UseRegisteredConnectionMultiplexer_TakesTheContainersConnection_AndLeavesItOpen()
    {
        var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString());
        var collection = new ServiceCollection().AddLogging();
        collection.AddSingleton<StackExchange.Redis.IConnectionMultiplexer>(connection);
        collection.AddFusionCaching("shared", o => { o.UseRegisteredConnectionMultiplexer = true; o.RedisCacheName = "di-shared"; });
        var services = collection.BuildServiceProvider();
        var cache = services.GetRequiredKeyedService<FusionCache>("shared");
        await Poll.Until(() => Task.FromResult(cache.Distributed!.IsReady), Nodes.Bound, "the cache is ready on the registered connection");

        await cache.Set("k", "v");

        Assert.True(await connection.GetDatabase().KeyExistsAsync("di-shared:v2:k"), "the value is not in Redis under the cache's Redis name");
        await services.DisposeAsync(); // disposes the cache, not the connection it was given
        Assert.True(connection.IsConnected);
        await connection.DisposeAsync();
    }

    [Fact]
    public async Task AMemoryOnlyCache_IsHealthy()
    {
        var collection = new ServiceCollection().AddLogging();
        collection.AddFusionCaching();
        collection.AddHealthChecks().AddFusionCache();
        await using var services = collection.BuildServiceProvider();

        var report = await Check(services);

        Assert.Equal(HealthStatus.Healthy, report.Status);
        Assert.Contains("memory only", report.Entries["fusion-default"].Description);
    }

    [Fact]
    public async Task WithRedis_TheCheckFollowsTheConnectionAndTheRecoveryQueue()
    {
        var collection = new ServiceCollection().AddLogging();
        collection.AddFusionCaching("orders", o =>
        {
            o.RedisConnectionString = redis.Server.ConnectionString();
            o.CircuitBreakerDuration = TimeSpan.Zero;
        });
        collection.AddHealthChecks().AddFusionCache("orders", failureStatus: HealthStatus.Unhealthy);
        await using var services = collection.BuildServiceProvider();
        var cache = services.GetRequiredKeyedService<FusionCache>("orders");
        await Poll.Until(() => Task.FromResult(cache.Distributed!.IsReady), Nodes.Bound, "the cache connects");
        Assert.Equal(HealthStatus.Healthy, (await Check(services)).Status);

        redis.Server.Kill();
        await Poll.Until(() => Task.FromResult(!cache.Distributed!.IsConnected), Nodes.Bound, "the cache sees Redis gone");
        await cache.Set("k", "queued"); // served from memory, owed to Redis
        var away = (await Check(services)).Entries["fusion-orders"];
        Assert.Equal(HealthStatus.Unhealthy, away.Status);
        Assert.Equal((false, 1), ((bool)away.Data["redis.connected"], (int)away.Data["recovery.queue"]));

        await redis.Server.RestartAsync();
        await Poll.Until(async () => (await Check(services)).Status == HealthStatus.Healthy, Nodes.Bound, "healthy once the queue has replayed");
    }
}
