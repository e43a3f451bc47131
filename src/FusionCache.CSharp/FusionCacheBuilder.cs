using Fusion.Core;
using Fusion.Distributed;
using Fusion.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

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
    private Func<(Task<IConnectionMultiplexer> Connecting, bool Owned)>? _redis;
    private string _cacheName = "fusion";
    private IFusionSerializer _serializer = new JsonFusionSerializer();
    private TimeSpan _circuitBreak = TimeSpan.FromSeconds(1);
    private int _recoveryCapacity = 10_000;
    private TimeSpan _recoveryDelay = TimeSpan.FromSeconds(1);
    private long _recoveryMaxBytes = 64L * 1024 * 1024;
    private TimeSpan _maxClockSkew = TimeSpan.FromMinutes(1);
    private TimeSpan _disposeDrain = TimeSpan.FromSeconds(2);

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

    /// <summary>The clock (tests pass a fake one).</summary><value>Default <see cref="TimeProvider.System"/>.</value>
    public FusionCacheBuilder WithTimeProvider(TimeProvider time)
    {
        if (time is null) Throw.NullArgument(nameof(time));
        _time = time;
        return this;
    }

    /// <summary>Where the cache reports background failures.</summary><value>Default: no logging.</value>
    public FusionCacheBuilder WithLogger(ILogger logger)
    {
        if (logger is null) Throw.NullArgument(nameof(logger));
        _logger = logger;
        return this;
    }

    /// <summary>
    /// Adds Redis as the distributed level (L2) and its pub/sub channel as the backplane. The cache
    /// connects when built and works on L1 alone while Redis is unreachable (it reconnects by itself).
    /// </summary>
    /// <param name="connectionString">A StackExchange.Redis configuration string; <c>abortConnect=false</c>, a fail-fast backlog and a reconnect attempt every 500 ms are forced (a connection passed as an <see cref="IConnectionMultiplexer"/> keeps its own settings).</param>
    /// <param name="cacheName">Prefix of the L2 keys and name of the channel; nodes sharing data use the same one.</param>
    /// <param name="backgroundWrites">L2 writes are fire-and-forget by default (<c>AllowBackgroundDistributedCacheOperations</c>).</param>
    public FusionCacheBuilder WithRedis(string connectionString, string cacheName = "fusion", bool backgroundWrites = false)
    {
        _backplaneOnly = false;
        return WithRedisConnection(connectionString, cacheName, backgroundWrites);
    }

    /// <summary>
    /// A backplane without a distributed level: memory-only nodes that share only their writes' notifications and
    /// invalidations over Redis pub/sub (a Set on one node makes the others drop their copy and run their factory;
    /// a RemoveByTag or Clear reaches them all). Nothing is stored in Redis, so a node that was away cannot learn what
    /// it missed there: after a reconnect it expires every copy written before the disconnect.
    /// </summary>
    /// <param name="connectionString">As for <see cref="WithRedis(string, string, bool)"/>.</param>
    /// <param name="cacheName">The channel's name; nodes sharing notifications use the same one.</param>
    public FusionCacheBuilder WithBackplane(string connectionString, string cacheName = "fusion")
    {
        _backplaneOnly = true;
        return WithRedisConnection(connectionString, cacheName, backgroundWrites: false);
    }

    private bool _backplaneOnly;

    private FusionCacheBuilder WithRedisConnection(string connectionString, string cacheName, bool backgroundWrites)
    {
        if (string.IsNullOrWhiteSpace(connectionString)) throw new ArgumentException("The Redis connection string must not be empty.", nameof(connectionString));
        var configuration = ConfigurationOptions.Parse(connectionString); // throws on a malformed string, naming it
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast; // while Redis is away, fail at once and queue
        // Retry every half second rather than backing off exponentially: a restarted Redis is used again within
        // about half a second instead of up to several (there is no connection-string keyword for it).
        configuration.ReconnectRetryPolicy = new LinearRetry(500);
        // Connect in the background: building the cache never waits for Redis.
        return WithRedis(() => (Connect(configuration), true), cacheName, backgroundWrites);
    }

    // On the thread pool: even the synchronous start of a connect must not hold up Build().
    private static Task<IConnectionMultiplexer> Connect(ConfigurationOptions configuration) =>
        Task.Run<IConnectionMultiplexer>(async () => await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false));

    /// <summary>As <see cref="WithRedis(string, string, bool)"/>, on a connection you own (the cache does not dispose it).</summary>
    public FusionCacheBuilder WithRedis(IConnectionMultiplexer connection, string cacheName = "fusion", bool backgroundWrites = false)
    {
        if (connection is null) Throw.NullArgument(nameof(connection));
        _backplaneOnly = false;
        return WithRedis(() => (Task.FromResult(connection), false), cacheName, backgroundWrites);
    }

    private FusionCacheBuilder WithRedis(Func<(Task<IConnectionMultiplexer>, bool)> connect, string cacheName, bool backgroundWrites)
    {
        if (string.IsNullOrWhiteSpace(cacheName) || cacheName.Contains(' '))
            throw new ArgumentException($"cacheName = '{cacheName}' is invalid: it must be a non-empty name without spaces.", nameof(cacheName));
        _redis = connect;
        _cacheName = cacheName;
        if (backgroundWrites) WithDefaultEntryOptions(new FusionCacheEntryOptions { AllowBackgroundDistributedCacheOperations = true });
        return this;
    }

    /// <summary>How values are turned into L2 bytes.</summary><value>Default <see cref="JsonFusionSerializer"/> (System.Text.Json).</value>
    public FusionCacheBuilder WithSerializer(IFusionSerializer serializer)
    {
        if (serializer is null) Throw.NullArgument(nameof(serializer));
        _serializer = serializer;
        return this;
    }

    /// <summary>After a connection-level L2 error (Redis unreachable, a timeout), skip L2 for this long: reads are
    /// misses and writes are queued at once, so a stalled Redis costs a caller one timeout, not one per L2
    /// operation. A per-key server error (a wrong type at the key, a permission) never opens it.</summary>
    /// <value>Default 1 s; zero turns it off.</value>
    public FusionCacheBuilder WithCircuitBreaker(TimeSpan breakDuration)
    {
        Throw.IfInvalid(OptionRules.duration(nameof(breakDuration), breakDuration), nameof(breakDuration), breakDuration);
        _circuitBreak = breakDuration;
        return this;
    }

    /// <summary>The auto-recovery queue: how many keys' failed L2 operations it keeps and how many bytes of values
    /// (the oldest keys are dropped beyond either, with a warning), how often it retries while Redis is reachable,
    /// and how long <c>Dispose</c> waits for it to drain before it drops (and logs) what is left.</summary>
    /// <value>Default 10,000 keys, 64 MiB, every 1 s, 2 s on dispose.</value>
    public FusionCacheBuilder WithAutoRecovery(int maxItems = 10_000, TimeSpan? delay = null, long? maxBytes = null, TimeSpan? drainOnDispose = null)
    {
        Throw.IfInvalid(maxItems < 1 ? $"maxItems = {maxItems} is invalid: it must be at least 1" : null, nameof(maxItems), maxItems);
        var d = delay ?? _recoveryDelay;
        Throw.IfInvalid(OptionRules.timeout(nameof(delay), d), nameof(delay), d);
        var bytes = maxBytes ?? _recoveryMaxBytes;
        Throw.IfInvalid(bytes < 1 ? $"maxBytes = {bytes} is invalid: it must be at least 1" : null, nameof(maxBytes), bytes);
        var drain = drainOnDispose ?? _disposeDrain;
        Throw.IfInvalid(OptionRules.duration(nameof(drainOnDispose), drain), nameof(drainOnDispose), drain);
        _recoveryCapacity = maxItems;
        _recoveryDelay = d;
        _recoveryMaxBytes = bytes;
        _disposeDrain = drain;
        return this;
    }

    /// <summary>How far ahead of this node's clock another node's timestamp may be (in a notification, an L2 entry):
    /// within it, this node's later writes are ordered after it; beyond it, the message or entry is malformed
    /// (logged, counted, ignored), so one forged or corrupt stamp can neither pin a key nor reorder writes.</summary>
    /// <value>Default 1 minute.</value>
    public FusionCacheBuilder WithMaxClockSkew(TimeSpan maxSkew)
    {
        Throw.IfInvalid(maxSkew <= TimeSpan.Zero || maxSkew == Timeout.InfiniteTimeSpan ? $"maxSkew = {maxSkew} is invalid: it must be positive and finite" : null, nameof(maxSkew), maxSkew);
        _maxClockSkew = maxSkew;
        return this;
    }

    private Func<long, Clock>? _clock;

    /// <summary>Tests: the cache's clock, built from the node's origin (a starved ticker, a wall clock that steps back).</summary>
    internal FusionCacheBuilder WithClock(Func<long, Clock> clock)
    {
        _clock = clock;
        return this;
    }

    /// <summary>Builds the cache (and connects to Redis when configured; an unreachable Redis is not an error).</summary>
    public FusionCache Build()
    {
        // Every part logs through the safe wrapper: a throwing log provider never breaks background work.
        var logger = SafeLogger.Wrap(_logger);
        if (_redis is null) return new(_capacity, _defaults, _time, logger, clock: _clock);
        var settings = new DistributedSettings(_cacheName, _serializer, _circuitBreak, _recoveryCapacity, _recoveryDelay, _recoveryMaxBytes, _maxClockSkew, _disposeDrain)
        {
            BackplaneOnly = _backplaneOnly,
        };
        var connect = _redis;
        return new(_capacity, _defaults, _time, logger, (memory, flights, clock, id) =>
        {
            var (connection, owned) = connect();
            return new DistributedLevel(connection, owned, settings, id, memory, flights, clock, logger);
        }, _clock);
    }
}
