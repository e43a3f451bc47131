using Fusion.Core;
using Fusion.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fusion;

/// <summary>Builds a <see cref="FusionCache"/>. Each method checks its values at once and throws
/// <see cref="ArgumentOutOfRangeException"/> naming the option and the value when one is invalid.</summary>
/// <example><code>
/// using var cache = new FusionCacheBuilder()
///     .WithCapacity(10_000)
///     .WithFailSafe(maxDuration: TimeSpan.FromHours(2), throttle: TimeSpan.FromSeconds(30))
///     .WithFactoryTimeouts(soft: TimeSpan.FromMilliseconds(100))
///     .Build();
/// </code></example>
public sealed class FusionCacheBuilder
{
    /// <summary>The default L1 capacity in entries.</summary>
    public const int DefaultCapacity = 1000;

    private int _capacity = DefaultCapacity;
    private EntryOptions _defaults = EntryOptionsModule.Default;
    private TimeProvider _time = TimeProvider.System;
    private ILogger _logger = NullLogger.Instance;
    private readonly Dictionary<Type, object> _extensions = [];
    private string _name = DefaultName;

    /// <summary>The name of a cache built without <see cref="WithName"/>.</summary>
    public const string DefaultName = "default";

    /// <summary>The most entries L1 holds, at least 1; the write that would go beyond it evicts
    /// another entry (S3-FIFO).</summary><value>Default 1000.</value>
    public FusionCacheBuilder WithCapacity(int capacity)
    {
        Throw.IfInvalid(capacity < 1 ? $"capacity = {capacity} is invalid: it must be at least 1" : null, nameof(capacity), capacity);
        _capacity = capacity;
        return this;
    }

    /// <summary>The cache-wide entry options: what <paramref name="options"/> sets overrides the library defaults.</summary>
    public FusionCacheBuilder WithDefaultEntryOptions(FusionCacheEntryOptions options)
    {
        if (options is null) Throw.NullArgument(nameof(options));
        _defaults = options.Resolve(_defaults);
        return this;
    }

    /// <summary>The default logical lifetime of an entry.</summary><value>Default 30 s.</value>
    public FusionCacheBuilder WithDuration(TimeSpan duration) =>
        WithDefaultEntryOptions(new FusionCacheEntryOptions { Duration = duration });

    /// <summary>Turns fail-safe on by default, with its bounds (null keeps the current value).</summary>
    /// <param name="maxDuration">Physical lifetime of entries (default 1 day).</param>
    /// <param name="throttle">How long a served fallback counts as valid again (default 30 s).</param>
    /// <param name="maxCycles">Activations allowed without a factory success (default unlimited).</param>
    public FusionCacheBuilder WithFailSafe(TimeSpan? maxDuration = null, TimeSpan? throttle = null, int? maxCycles = null) =>
        WithDefaultEntryOptions(new FusionCacheEntryOptions
        {
            IsFailSafeEnabled = true,
            FailSafeMaxDuration = maxDuration ?? _defaults.FailSafeMaxDuration,
            FailSafeThrottleDuration = throttle ?? _defaults.FailSafeThrottleDuration,
            MaxFailSafeCycles = maxCycles ?? _defaults.MaxFailSafeCycles,
        });

    /// <summary>Default factory timeouts (null keeps the current value).</summary>
    /// <param name="soft">Past it, the fallback is served (default infinite).</param>
    /// <param name="hard">Past it, the fallback or a timeout error (default infinite).</param>
    /// <param name="allowBackgroundCompletion">A timed-out factory keeps running and updates the cache (default true).</param>
    public FusionCacheBuilder WithFactoryTimeouts(TimeSpan? soft = null, TimeSpan? hard = null, bool? allowBackgroundCompletion = null) =>
        WithDefaultEntryOptions(new FusionCacheEntryOptions
        {
            FactorySoftTimeout = soft ?? _defaults.FactorySoftTimeout,
            FactoryHardTimeout = hard ?? _defaults.FactoryHardTimeout,
            AllowTimedOutFactoryBackgroundCompletion = allowBackgroundCompletion ?? _defaults.AllowTimedOutFactoryBackgroundCompletion,
        });

    /// <summary>The cache's name: how logs, traces and metrics tell caches apart, and how dependency injection resolves a
    /// named cache. Not the Redis key prefix (that is <c>WithRedis</c>'s cacheName).</summary><value>Default "default".</value>
    public FusionCacheBuilder WithName(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException($"name = '{name}' is invalid: a cache name must not be empty or blank.", nameof(name));
        _name = name;
        return this;
    }

    /// <summary>The clock (tests pass a fake one).</summary><value>Default <see cref="TimeProvider.System"/>.</value>
    public FusionCacheBuilder WithTimeProvider(TimeProvider time)
    {
        if (time is null) Throw.NullArgument(nameof(time));
        _time = time;
        return this;
    }

    /// <summary>Where the cache reports failures, fail-safe activations, timeouts and the state of Redis (events with
    /// stable ids: docs/observability.md). Keys are escaped; values and connection secrets are never logged.</summary>
    /// <value>Default: no logging.</value>
    public FusionCacheBuilder WithLogger(ILogger logger)
    {
        if (logger is null) Throw.NullArgument(nameof(logger));
        _logger = logger;
        return this;
    }

    /// <summary>The levels of the events whose weight depends on the application (factory errors and timeouts, fail-safe
    /// activations, Redis errors and refusals), and how repeats of them are aggregated.</summary>
    /// <example><code>builder.WithLogLevels(new FusionCacheLogLevels { FactoryError = LogLevel.Error, FailSafeActivation = LogLevel.Information })</code></example>
    /// <value>Default <see cref="FusionCacheLogLevels.Default"/>: Warning, except <see cref="FusionCacheLogLevels.DistributedRefusal"/> (Error).</value>
    public FusionCacheBuilder WithLogLevels(FusionCacheLogLevels levels)
    {
        if (levels is null) Throw.NullArgument(nameof(levels));
        Throw.IfInvalid(levels.Invalid(), nameof(levels), levels);
        _logLevels = levels;
        return this;
    }

    private FusionCacheLogLevels _logLevels = FusionCacheLogLevels.Default;

    private Func<long, Clock>? _clock;

    /// <summary>Tests: the cache's clock, built from the node's origin (a starved ticker, a wall clock that steps back).</summary>
    internal FusionCacheBuilder WithClock(Func<long, Clock> clock)
    {
        _clock = clock;
        return this;
    }

    /// <summary>The distributed level the cache is built with (set by the Redis package's <c>WithRedis</c> and
    /// <c>WithBackplane</c>); null for a memory-only cache.</summary>
    internal Func<DistributedContext, IDistributedLevel>? Distributed { get; set; }

    /// <summary>The settings an extension package keeps on this builder (one object per type, made on first use).</summary>
    internal T Extension<T>() where T : class, new()
    {
        if (!_extensions.TryGetValue(typeof(T), out var settings)) _extensions[typeof(T)] = settings = new T();
        return (T)settings;
    }

    /// <summary>Builds the cache (and connects to Redis when configured; an unreachable Redis is not an error).</summary>
    public FusionCache Build()
    {
        // Every part logs through the safe wrapper: a throwing log provider never breaks background work.
        var logger = SafeLogger.Wrap(_logger);
        return new(_name, _capacity, _defaults, _time, logger, Distributed, _clock, _logLevels);
    }
}
