using Fusion.Core;
using StackExchange.Redis;

namespace Fusion.Distributed;

/// <summary>L2 on Redis: reads raw envelopes and applies prepared writes. Errors are thrown to the caller
/// (<see cref="DistributedLevel"/>), which turns them into misses, the breaker and the recovery queue.</summary>
internal sealed class RedisLevel(RedisConnection connection, string cacheName)
{
    private readonly string _prefix = cacheName + ":v" + EnvelopeCodec.Version + ":";

    /// <summary>The Redis key of a cache key: the cache name, the wire-format version, the key.</summary>
    public RedisKey KeyOf(string key) => _prefix + key;

    public bool IsConnected => connection.IsConnected;

    public async Task<byte[]?> Get(string key)
    {
        var value = await connection.Required.GetDatabase().StringGetAsync(KeyOf(key)).ConfigureAwait(false);
        return value.IsNull ? null : (byte[]?)value;
    }

    /// <summary>Applies <paramref name="write"/>; its time to live counts from <paramref name="now"/>.</summary>
    public async Task Apply(string key, L2Write write, long now)
    {
        var db = connection.Required.GetDatabase();
        RedisKey[] keys = [KeyOf(key)];
        switch (write.What)
        {
            case L2Write.Kind.Put:
                var ttl = TimeToLiveMs(write.PhysicalExpiry, now);
                if (ttl < 0) return; // already past its physical expiry: nothing to keep
                await db.ScriptEvaluateAsync(RedisScripts.SetIfNotOlder, keys, [write.Argument, ttl]).ConfigureAwait(false);
                return;
            case L2Write.Kind.Remove:
                var least = Math.Max(1, TimeToLiveMs(write.PhysicalExpiry, now));
                await db.ScriptEvaluateAsync(RedisScripts.RemoveIfNotNewer, keys, [write.Argument, least]).ConfigureAwait(false);
                return;
            case L2Write.Kind.Expire:
                await db.ScriptEvaluateAsync(RedisScripts.ExpireIfNotNewer, keys, [write.Argument]).ConfigureAwait(false);
                return;
            default:
                throw new System.Diagnostics.UnreachableException();
        }
    }

    /// <summary>Milliseconds until <paramref name="physicalExpiry"/> (at least 1), 0 for never, −1 when already past.</summary>
    private static long TimeToLiveMs(long physicalExpiry, long now)
    {
        if (physicalExpiry == Ticks.Never) return 0;
        var ticks = physicalExpiry - now;
        return ticks <= 0 ? -1 : Math.Max(1, (ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond);
    }
}
