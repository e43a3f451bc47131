using StackExchange.Redis;

namespace Fusion.Distributed;

/// <summary>
/// The Redis connection, which may still be on its way: the cache is built at once and works on L1
/// until it arrives (building never waits for Redis). Until then every Redis call fails fast, which
/// the distributed level treats like Redis being down.
/// </summary>
internal sealed class RedisConnection
{
    private IConnectionMultiplexer? _multiplexer;

    /// <summary>The multiplexer, or null while connecting.</summary>
    public IConnectionMultiplexer? Multiplexer => Volatile.Read(ref _multiplexer);

    public bool IsConnected => Multiplexer?.IsConnected == true;

    /// <summary>The multiplexer, or a connection error while it is not there yet.</summary>
    public IConnectionMultiplexer Required =>
        Multiplexer ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "still connecting to Redis", null, CommandStatus.Unknown);

    public void Set(IConnectionMultiplexer multiplexer) => Volatile.Write(ref _multiplexer, multiplexer);
}
