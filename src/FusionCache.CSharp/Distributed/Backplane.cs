using Fusion.Core;
using Fusion.Runtime;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Fusion.Distributed;

/// <summary>
/// Notifications between nodes on one Redis pub/sub channel per cache name. Incoming messages are
/// applied to L1 through the core (<c>Lifecycle.applyRemote</c>): lazy invalidation, no L2 re-read.
/// </summary>
internal sealed class Backplane(IConnectionMultiplexer connection, string cacheName, Guid instanceId, MemoryLevel memory, FlightTable flights, Clock clock, ILogger logger)
{
    private readonly RedisChannel _channel = RedisChannel.Literal(cacheName + ":backplane:v" + NoticeCodec.Version);
    private int _subscribed;

    /// <summary>Messages received and applied, and messages ignored as malformed (debug counters).</summary>
    public long Applied, Malformed;

    /// <summary>Subscribes once; safe to call again (after a failure, or on every reconnect).</summary>
    public async Task EnsureSubscribed()
    {
        if (Volatile.Read(ref _subscribed) == 1) return;
        try
        {
            await connection.GetSubscriber().SubscribeAsync(_channel, (_, message) => Receive(message)).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _subscribed, 1) == 1)
                await connection.GetSubscriber().UnsubscribeAsync(_channel).ConfigureAwait(false); // lost a race: keep one
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            logger.LogWarning("Fusion: backplane subscription to Redis failed, will retry: {Error}", DistributedLevel.Short(ex));
        }
    }

    public async Task Publish(string key, Remote notice) =>
        await connection.GetSubscriber().PublishAsync(_channel, NoticeCodec.Encode(instanceId, key, notice)).ConfigureAwait(false);

    private void Receive(RedisValue message)
    {
        try
        {
            if (!NoticeCodec.TryDecode((byte[])message!, out var sender, out var key, out var notice, out var error))
            {
                Interlocked.Increment(ref Malformed);
                logger.LogWarning("Fusion: ignored a malformed backplane message: {Error}", error);
                return;
            }
            if (sender == instanceId) return; // our own message: already applied here (invariant 9)
            var now = clock.Now;
            memory.Update(key, current => Lifecycle.applyRemote(now, flights.IsRunning(key), current, notice));
            Interlocked.Increment(ref Applied);
        }
        catch (Exception ex)
        {
            // A handler must never throw into the multiplexer's reader.
            logger.LogError(ex, "Fusion: a backplane message could not be applied");
        }
    }
}
