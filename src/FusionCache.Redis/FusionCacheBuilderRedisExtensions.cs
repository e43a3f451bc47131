using Fusion.Core;
using Fusion.Distributed;
using Fusion.Runtime;
using StackExchange.Redis;

namespace Fusion;

/// <summary>Redis as Fusion's distributed level (L2) and backplane: the <see cref="FusionCacheBuilder"/> methods of the
/// Redis package. Each checks its values at once and throws naming the option and the value when one is invalid.</summary>
/// <example><code>
/// using var cache = new FusionCacheBuilder()
///     .WithDuration(TimeSpan.FromMinutes(5))
///     .WithRedis("localhost:6379", cacheName: "shop")
///     .Build();
/// </code></example>
public static class FusionCacheBuilderRedisExtensions
{
    /// <summary>
    /// Adds Redis as the distributed level (L2) and its pub/sub channel as the backplane. The cache
    /// connects when built and works on L1 alone while Redis is unreachable (it reconnects by itself).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">A StackExchange.Redis configuration string; <c>abortConnect=false</c>, a fail-fast backlog and a reconnect attempt every 500 ms are forced (a connection passed as an <see cref="IConnectionMultiplexer"/> keeps its own settings).</param>
    /// <param name="cacheName">Prefix of the L2 keys and name of the channel; nodes sharing data use the same one.</param>
    /// <param name="backgroundWrites">Whether L2 writes are fire-and-forget (<c>AllowBackgroundDistributedCacheOperations</c>): callers do not wait for Redis. Default false: a write completes once L2 has it.</param>
    public static FusionCacheBuilder WithRedis(this FusionCacheBuilder builder, string connectionString, string cacheName = "fusion", bool backgroundWrites = false)
    {
        if (builder is null) throw new ArgumentNullException(nameof(builder));
        return Use(builder, Connect(connectionString), cacheName, backgroundWrites, backplaneOnly: false);
    }

    /// <summary>As <see cref="WithRedis(FusionCacheBuilder, string, string, bool)"/>, on a connection you own (the cache does not dispose it).</summary>
    public static FusionCacheBuilder WithRedis(this FusionCacheBuilder builder, IConnectionMultiplexer connection, string cacheName = "fusion", bool backgroundWrites = false)
    {
        if (builder is null) throw new ArgumentNullException(nameof(builder));
        if (connection is null) throw new ArgumentNullException(nameof(connection));
        return Use(builder, () => (Task.FromResult(connection), false), cacheName, backgroundWrites, backplaneOnly: false);
    }

    /// <summary>
    /// A backplane without a distributed level: memory-only nodes that share only their writes' notifications and
    /// invalidations over Redis pub/sub (a Set on one node makes the others drop their copy and run their factory;
    /// a RemoveByTag or Clear reaches them all). Nothing is stored in Redis, so a node that was away cannot learn what
    /// it missed there: after a reconnect it expires every copy written before the disconnect.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">As for <see cref="WithRedis(FusionCacheBuilder, string, string, bool)"/>.</param>
    /// <param name="cacheName">The channel's name; nodes sharing notifications use the same one.</param>
    public static FusionCacheBuilder WithBackplane(this FusionCacheBuilder builder, string connectionString, string cacheName = "fusion")
    {
        if (builder is null) throw new ArgumentNullException(nameof(builder));
        return Use(builder, Connect(connectionString), cacheName, backgroundWrites: false, backplaneOnly: true);
    }

    /// <summary>How values are turned into L2 bytes.</summary><value>Default <see cref="JsonFusionSerializer"/> (System.Text.Json).</value>
    public static FusionCacheBuilder WithSerializer(this FusionCacheBuilder builder, IFusionSerializer serializer)
    {
        if (serializer is null) throw new ArgumentNullException(nameof(serializer));
        Settings(builder).Serializer = serializer;
        return builder;
    }

    /// <summary>
    /// Compresses L2 payloads (the serializer's bytes) of at least <paramref name="threshold"/> bytes with LZ4, when that
    /// makes them smaller: fewer bytes in Redis and on the wire, for some CPU on each write and read. Every node reads both
    /// forms whatever its own setting (envelope flag bit 3, docs/wire-format.md); nodes of builds from before this option
    /// read a compressed entry as a miss (and overwrite it), so turn it on once every node runs a build that has it.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="threshold">The smallest payload compressed, in bytes, at least 1.</param>
    /// <value>Off by default.</value>
    public static FusionCacheBuilder WithCompression(this FusionCacheBuilder builder, int threshold = 1024)
    {
        var settings = Settings(builder);
        Throw.IfInvalid(threshold < 1 ? $"threshold = {threshold} is invalid: it must be at least 1 (bytes)" : null, nameof(threshold), threshold);
        settings.CompressionThreshold = threshold;
        return builder;
    }

    /// <summary>After a connection-level L2 error (Redis unreachable, a timeout), skip L2 for this long: reads are
    /// misses and writes are queued at once, so a stalled Redis costs a caller one timeout, not one per L2
    /// operation. A per-key server error (a wrong type at the key, a permission) never opens it.</summary>
    /// <value>Default 1 s; zero turns it off.</value>
    public static FusionCacheBuilder WithCircuitBreaker(this FusionCacheBuilder builder, TimeSpan breakDuration)
    {
        Throw.IfInvalid(OptionRules.duration(nameof(breakDuration), breakDuration), nameof(breakDuration), breakDuration);
        Settings(builder).CircuitBreak = breakDuration;
        return builder;
    }

    /// <summary>The auto-recovery queue: how many keys' failed L2 operations it keeps and how many bytes of values
    /// (the oldest keys are dropped beyond either, with a warning), how often it retries while Redis is reachable,
    /// and how long <c>Dispose</c> waits for it to drain before it drops (and logs) what is left.</summary>
    /// <value>Default 10,000 keys, 64 MiB, every 1 s, 2 s on dispose.</value>
    public static FusionCacheBuilder WithAutoRecovery(this FusionCacheBuilder builder, int maxItems = 10_000, TimeSpan? delay = null, long? maxBytes = null, TimeSpan? drainOnDispose = null)
    {
        var settings = Settings(builder);
        Throw.IfInvalid(maxItems < 1 ? $"maxItems = {maxItems} is invalid: it must be at least 1" : null, nameof(maxItems), maxItems);
        var d = delay ?? settings.RecoveryDelay;
        Throw.IfInvalid(OptionRules.timeout(nameof(delay), d), nameof(delay), d);
        var bytes = maxBytes ?? settings.RecoveryMaxBytes;
        Throw.IfInvalid(bytes < 1 ? $"maxBytes = {bytes} is invalid: it must be at least 1" : null, nameof(maxBytes), bytes);
        var drain = drainOnDispose ?? settings.DisposeDrain;
        Throw.IfInvalid(OptionRules.duration(nameof(drainOnDispose), drain), nameof(drainOnDispose), drain);
        settings.RecoveryCapacity = maxItems;
        settings.RecoveryDelay = d;
        settings.RecoveryMaxBytes = bytes;
        settings.DisposeDrain = drain;
        return builder;
    }

    /// <summary>How far ahead of this node's clock another node's timestamp may be (in a notification, an L2 entry):
    /// within it, this node's later writes are ordered after it; beyond it, the message or entry is malformed
    /// (logged, counted, ignored), so one forged or corrupt stamp can neither pin a key nor reorder writes.</summary>
    /// <value>Default 1 minute.</value>
    public static FusionCacheBuilder WithMaxClockSkew(this FusionCacheBuilder builder, TimeSpan maxSkew)
    {
        Throw.IfInvalid(maxSkew <= TimeSpan.Zero || maxSkew == Timeout.InfiniteTimeSpan ? $"maxSkew = {maxSkew} is invalid: it must be positive and finite" : null, nameof(maxSkew), maxSkew);
        Settings(builder).MaxClockSkew = maxSkew;
        return builder;
    }

    private static RedisBuilderSettings Settings(FusionCacheBuilder builder) =>
        (builder ?? throw new ArgumentNullException(nameof(builder))).Extension<RedisBuilderSettings>();

    private static Func<(Task<IConnectionMultiplexer>, bool)> Connect(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString)) throw new ArgumentException("The Redis connection string must not be empty.", nameof(connectionString));
        var configuration = ConfigurationOptions.Parse(connectionString); // throws on a malformed string, naming it
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast; // while Redis is away, fail at once and queue
        // Retry every half second rather than backing off exponentially: a restarted Redis is used again within
        // about half a second instead of up to several (there is no connection-string keyword for it).
        configuration.ReconnectRetryPolicy = new LinearRetry(500);
        // Connect in the background: building the cache never waits for Redis.
        return () => (ConnectInBackground(configuration), true);
    }

    // On the thread pool: even the synchronous start of a connect must not hold up Build().
    private static Task<IConnectionMultiplexer> ConnectInBackground(ConfigurationOptions configuration) =>
        Task.Run<IConnectionMultiplexer>(async () => await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false));

    private static FusionCacheBuilder Use(FusionCacheBuilder builder, Func<(Task<IConnectionMultiplexer> Connecting, bool Owned)> connect,
        string cacheName, bool backgroundWrites, bool backplaneOnly)
    {
        if (string.IsNullOrWhiteSpace(cacheName) || cacheName.Contains(' '))
            throw new ArgumentException($"cacheName = '{cacheName}' is invalid: it must be a non-empty name without spaces.", nameof(cacheName));
        var settings = Settings(builder);
        if (backgroundWrites) builder.WithDefaultEntryOptions(new FusionCacheEntryOptions { AllowBackgroundDistributedCacheOperations = true });
        // Read when the cache is built: the settings given after WithRedis count too.
        builder.Distributed = context =>
        {
            var (connecting, owned) = connect();
            return new DistributedLevel(connecting, owned, settings.ToDistributed(cacheName, backplaneOnly), context.InstanceId,
                context.Memory, context.Flights, context.Clock, context.Diagnostics);
        };
        return builder;
    }

    /// <summary>What the Redis methods set on one builder.</summary>
    internal sealed class RedisBuilderSettings
    {
        public IFusionSerializer Serializer { get; set; } = new JsonFusionSerializer();
        public TimeSpan CircuitBreak { get; set; } = TimeSpan.FromSeconds(1);
        public int RecoveryCapacity { get; set; } = 10_000;
        public TimeSpan RecoveryDelay { get; set; } = TimeSpan.FromSeconds(1);
        public long RecoveryMaxBytes { get; set; } = 64L * 1024 * 1024;
        public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(1);
        public TimeSpan DisposeDrain { get; set; } = TimeSpan.FromSeconds(2);
        public int CompressionThreshold { get; set; } // 0: off

        public DistributedSettings ToDistributed(string cacheName, bool backplaneOnly) =>
            new(cacheName, Serializer, CircuitBreak, RecoveryCapacity, RecoveryDelay, RecoveryMaxBytes, MaxClockSkew, DisposeDrain)
            {
                BackplaneOnly = backplaneOnly,
                CompressionThreshold = CompressionThreshold,
            };
    }
}
