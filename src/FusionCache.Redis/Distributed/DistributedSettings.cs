namespace Fusion.Distributed;

/// <summary>How the distributed level is set up (from <see cref="FusionCacheBuilderRedisExtensions.WithRedis(FusionCacheBuilder, string, string, bool)"/>).</summary>
internal sealed record DistributedSettings(
    string CacheName,
    IFusionSerializer Serializer,
    TimeSpan CircuitBreakerDuration,
    int RecoveryCapacity,
    TimeSpan RecoveryDelay,
    long RecoveryMaxBytes,
    TimeSpan MaxClockSkew,
    TimeSpan DisposeDrain)
{
    /// <summary>Only the backplane: no value, tombstone or invalidation mark is stored in Redis.</summary>
    public bool BackplaneOnly { get; init; }

    /// <summary>Payloads of at least this many bytes are written LZ4-compressed (flag bit 3); 0: never (the default).
    /// Readers decode both forms whatever their own setting.</summary>
    public int CompressionThreshold { get; init; }
}
