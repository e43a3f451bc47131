using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Fusion;

/// <summary>
/// The health of one cache's distributed level: <c>Healthy</c> for a memory-only cache, or with Redis connected, the
/// circuit breaker closed and nothing owed to Redis; <c>Degraded</c> while the breaker is open or the recovery queue
/// holds operations (the cache serves, L2 lags); the registration's failure status (default <c>Unhealthy</c>) while
/// Redis is unreachable (the cache still serves from memory: choose <c>Degraded</c> if that is healthy enough for you).
/// The data carries <c>redis.connected</c>, <c>breaker.open</c> and <c>recovery.queue</c>; never a connection string.
/// </summary>
public sealed class FusionCacheHealthCheck(FusionCache cache) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (cache.Distributed is not { } redis)
            return Task.FromResult(HealthCheckResult.Healthy($"Fusion cache '{cache.Name}': memory only"));
        var data = new Dictionary<string, object>
        {
            ["redis.connected"] = redis.IsConnected,
            ["breaker.open"] = redis.IsBreakerOpen,
            ["recovery.queue"] = redis.PendingRecoveries,
        };
        HealthCheckResult result;
        if (!redis.IsConnected)
            result = new HealthCheckResult(context.Registration.FailureStatus, $"Fusion cache '{cache.Name}': Redis is unreachable; serving from memory, queuing {redis.PendingRecoveries} key(s) for recovery", data: data);
        else if (redis.IsBreakerOpen || redis.PendingRecoveries > 0)
            result = HealthCheckResult.Degraded($"Fusion cache '{cache.Name}': Redis is back or slow; breaker {(redis.IsBreakerOpen ? "open" : "closed")}, {redis.PendingRecoveries} key(s) to replay", data: data);
        else
            result = HealthCheckResult.Healthy($"Fusion cache '{cache.Name}': Redis connected", data);
        return Task.FromResult(result);
    }
}

/// <summary>Adds Fusion caches to ASP.NET Core / generic-host health checks.</summary>
public static class FusionCacheHealthCheckBuilderExtensions
{
    /// <summary>A health check of the cache registered as <paramref name="cacheName"/> (<see cref="FusionCacheHealthCheck"/>),
    /// named <c>fusion-{cacheName}</c> unless <paramref name="name"/> is given.</summary>
    public static IHealthChecksBuilder AddFusionCache(this IHealthChecksBuilder builder, string cacheName = FusionCacheBuilder.DefaultName,
        string? name = null, HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        if (builder is null) throw new ArgumentNullException(nameof(builder));
        return builder.Add(new HealthCheckRegistration(name ?? $"fusion-{cacheName}",
            sp => new FusionCacheHealthCheck(sp.GetRequiredService<FusionCacheProvider>().GetCache(cacheName)), failureStatus, tags));
    }
}
