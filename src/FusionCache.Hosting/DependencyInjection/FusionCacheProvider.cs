using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Fusion;

/// <summary>
/// The caches of a container, by name: each is built once, on first use, from its <see cref="FusionCachingOptions"/>, the
/// container's <see cref="ILogger{TCategoryName}"/>, <see cref="TimeProvider"/> and (when asked for)
/// <see cref="IConnectionMultiplexer"/>; all are disposed with the container.
/// </summary>
public sealed class FusionCacheProvider : IDisposable
{
    private readonly IServiceProvider _services;
    private readonly IOptionsMonitor<FusionCachingOptions> _options;
    private readonly FusionCacheRegistry _registry;
    private readonly ConcurrentDictionary<string, Lazy<FusionCache>> _caches = new(StringComparer.Ordinal);
    private volatile bool _disposed;

    internal FusionCacheProvider(IServiceProvider services, IOptionsMonitor<FusionCachingOptions> options, FusionCacheRegistry registry)
    {
        _services = services;
        _options = options;
        _registry = registry;
    }

    /// <summary>The names of the registered caches.</summary>
    public IReadOnlyCollection<string> Names => _registry.Names;

    /// <summary>The cache registered under <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No cache is registered under that name (the message lists those that are).</exception>
    public FusionCache GetCache(string name = FusionCacheBuilder.DefaultName)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (name is null || !_registry.Contains(name))
            throw new ArgumentException($"No Fusion cache is registered under the name '{name}'; registered: {string.Join(", ", _registry.Names.Select(n => $"'{n}'"))}.", nameof(name));
        return _caches.GetOrAdd(name, n => new Lazy<FusionCache>(() => Build(n))).Value;
    }

    private FusionCache Build(string name)
    {
        var options = _options.Get(name);
        var builder = new FusionCacheBuilder()
            .WithName(name)
            .WithCapacity(options.Capacity)
            .WithDefaultEntryOptions(options.EntryOptions())
            .WithTimeProvider(_services.GetService<TimeProvider>() ?? TimeProvider.System);
        if (_services.GetService<ILogger<FusionCache>>() is { } logger) builder.WithLogger(logger);
        if (options.LogLevels is { IsSet: true } levels) builder.WithLogLevels(levels.ToLogLevels());
        var redisName = options.RedisCacheName ?? name;
        if (options.UseRegisteredConnectionMultiplexer)
        {
            var connection = _services.GetService<IConnectionMultiplexer>()
                ?? throw new InvalidOperationException($"Fusion cache '{name}' has UseRegisteredConnectionMultiplexer = true, but no IConnectionMultiplexer is registered.");
            if (options.BackplaneOnly) throw new InvalidOperationException($"Fusion cache '{name}': a backplane without L2 opens its own connection; set RedisConnectionString.");
            builder.WithRedis(connection, redisName);
        }
        else if (options.RedisConnectionString is { } redis)
        {
            if (options.BackplaneOnly) builder.WithBackplane(redis, redisName);
            else builder.WithRedis(redis, redisName);
        }
        if (options.CircuitBreakerDuration is TimeSpan breaker) builder.WithCircuitBreaker(breaker);
        if (options.MaxClockSkew is TimeSpan skew) builder.WithMaxClockSkew(skew);
        options.ApplyTo(builder);
        return builder.Build();
    }

    /// <summary>Disposes every cache built so far.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var cache in _caches.Values.Where(c => c.IsValueCreated)) cache.Value.Dispose();
    }
}
