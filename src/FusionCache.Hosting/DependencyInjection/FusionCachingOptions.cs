namespace Fusion;

/// <summary>
/// One cache registered with dependency injection (<see cref="FusionCachingServiceCollectionExtensions.AddFusionCaching(Microsoft.Extensions.DependencyInjection.IServiceCollection, string, Microsoft.Extensions.Configuration.IConfiguration)"/>),
/// bindable from configuration and validated when the host starts. Every entry option left null follows the library's
/// default (README, Options). For what configuration cannot express, <see cref="ConfigureBuilder"/>.
/// </summary>
/// <example><code>
/// "Fusion": { "Caches": { "orders": { "Capacity": 50000, "Duration": "00:05:00", "IsFailSafeEnabled": true,
///                                     "RedisConnectionString": "redis:6379",
///                                     "LogLevels": { "FailSafeActivation": "Information" } } } }
/// </code></example>
public sealed class FusionCachingOptions
{
    /// <summary>The most entries L1 holds.</summary><value>Default 1000.</value>
    public int Capacity { get; set; } = FusionCacheBuilder.DefaultCapacity;

    /// <summary>Logical lifetime of an entry.</summary>
    public TimeSpan? Duration { get; set; }

    /// <summary>Keep entries past their logical expiry and serve them when the factory fails.</summary>
    public bool? IsFailSafeEnabled { get; set; }

    /// <summary>Physical lifetime of an entry with fail-safe on.</summary>
    public TimeSpan? FailSafeMaxDuration { get; set; }

    /// <summary>How long a value served by fail-safe counts as valid again.</summary>
    public TimeSpan? FailSafeThrottleDuration { get; set; }

    /// <summary>Fail-safe activations allowed without a factory success.</summary>
    public int? MaxFailSafeCycles { get; set; }

    /// <summary>Past it, the fallback is served (fail-safe on and a fallback at hand).</summary>
    public TimeSpan? FactorySoftTimeout { get; set; }

    /// <summary>Past it, the fallback or a timeout error.</summary>
    public TimeSpan? FactoryHardTimeout { get; set; }

    /// <summary>A timed-out factory keeps running and its success updates the cache.</summary>
    public bool? AllowTimedOutFactoryBackgroundCompletion { get; set; }

    /// <summary>Fraction of the duration in (0, 1) after which a hit starts a background refresh.</summary>
    public double? EagerRefreshThreshold { get; set; }

    /// <summary>Random extra logical lifetime in [0, value).</summary>
    public TimeSpan? JitterMaxDuration { get; set; }

    /// <summary>Logical lifetime in L2.</summary>
    public TimeSpan? DistributedCacheDuration { get; set; }

    /// <summary>Past it an L2 read is a miss when a fallback exists, and a write is queued.</summary>
    public TimeSpan? DistributedCacheSoftTimeout { get; set; }

    /// <summary>Past it an L2 operation is abandoned (a read is a miss, a write is queued for recovery).</summary>
    public TimeSpan? DistributedCacheHardTimeout { get; set; }

    /// <summary>L2 writes are fire-and-forget.</summary>
    public bool? AllowBackgroundDistributedCacheOperations { get; set; }

    /// <summary>Redis as L2 and backplane, on a connection the cache opens with this StackExchange.Redis configuration
    /// string. Null: no Redis (unless <see cref="UseRegisteredConnectionMultiplexer"/>).</summary>
    public string? RedisConnectionString { get; set; }

    /// <summary>Redis as L2 and backplane on the <c>IConnectionMultiplexer</c> registered in the container (the cache does not
    /// dispose it).</summary>
    public bool UseRegisteredConnectionMultiplexer { get; set; }

    /// <summary>Only the backplane over Redis: memory-only nodes that share notifications and invalidations.</summary>
    public bool BackplaneOnly { get; set; }

    /// <summary>The prefix of the L2 keys and the channel's name; nodes that share data use the same one.</summary>
    /// <value>Default: the cache's name.</value>
    public string? RedisCacheName { get; set; }

    /// <summary>How long L2 is skipped after a connection-level error (zero turns the breaker off).</summary>
    public TimeSpan? CircuitBreakerDuration { get; set; }

    /// <summary>How far ahead of this node's clock another node's timestamp may be.</summary>
    public TimeSpan? MaxClockSkew { get; set; }

    /// <summary>The levels of the log events whose weight depends on the application (factory errors and timeouts,
    /// fail-safe activations, Redis errors and refusals) and how repeats of them are aggregated, given to
    /// <see cref="FusionCacheBuilder.WithLogLevels"/> when the cache is built. Bound from the section's <c>LogLevels</c>
    /// (<c>"LogLevels": { "FailSafeActivation": "Information" }</c>); only what is set differs from the defaults.</summary>
    public FusionCachingLogLevels LogLevels { get; set; } = new();

    /// <summary>Anything else, in code: <paramref name="configure"/> is called on the builder last (serializer,
    /// auto-recovery bounds…). A method, not a property, so configuration binding never sees it.</summary>
    public FusionCachingOptions ConfigureBuilder(Action<FusionCacheBuilder> configure)
    {
        _configureBuilder.Add(configure ?? throw new ArgumentNullException(nameof(configure)));
        return this;
    }

    private readonly List<Action<FusionCacheBuilder>> _configureBuilder = [];

    /// <summary>Runs what <see cref="ConfigureBuilder"/> was given, in order.</summary>
    internal void ApplyTo(FusionCacheBuilder builder)
    {
        foreach (var configure in _configureBuilder) configure(builder);
    }

    /// <summary>The entry options these settings give : every option, the library default where these settings leave one unset.</summary>
    internal FusionCacheEntryOptions EntryOptions() => new()
    {
        Duration = Duration ?? Core.EntryOptionsModule.Default.Duration,
        IsFailSafeEnabled = IsFailSafeEnabled ?? false,
        FailSafeMaxDuration = FailSafeMaxDuration ?? Core.EntryOptionsModule.Default.FailSafeMaxDuration,
        FailSafeThrottleDuration = FailSafeThrottleDuration ?? Core.EntryOptionsModule.Default.FailSafeThrottleDuration,
        MaxFailSafeCycles = MaxFailSafeCycles ?? int.MaxValue,
        FactorySoftTimeout = FactorySoftTimeout ?? Timeout.InfiniteTimeSpan,
        FactoryHardTimeout = FactoryHardTimeout ?? Timeout.InfiniteTimeSpan,
        AllowTimedOutFactoryBackgroundCompletion = AllowTimedOutFactoryBackgroundCompletion ?? true,
        EagerRefreshThreshold = EagerRefreshThreshold,
        JitterMaxDuration = JitterMaxDuration ?? TimeSpan.Zero,
        DistributedCacheDuration = DistributedCacheDuration,
        DistributedCacheSoftTimeout = DistributedCacheSoftTimeout ?? Timeout.InfiniteTimeSpan,
        DistributedCacheHardTimeout = DistributedCacheHardTimeout ?? Core.EntryOptionsModule.Default.DistributedCacheHardTimeout,
        AllowBackgroundDistributedCacheOperations = AllowBackgroundDistributedCacheOperations ?? false,
    };
}
