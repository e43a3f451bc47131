using System.Buffers.Binary;
using System.Text;
using Fusion.Core;
using StackExchange.Redis;

namespace Fusion.Distributed;

/// <summary>L2 on Redis: reads raw envelopes and applies prepared writes. Errors are thrown to the caller
/// (<see cref="DistributedLevel"/>), which turns them into misses, the breaker and the recovery queue.</summary>
internal sealed class RedisLevel(RedisConnection connection, string cacheName, TimeSpan maxClockSkew)
{
    private readonly byte[] _prefix = Encoding.UTF8.GetBytes(cacheName + ":v" + EnvelopeCodec.Version + ":");

    /// <summary>The Redis key of a cache key: the cache name, the wire-format version, the key (<see cref="KeyCodec"/>).</summary>
    public RedisKey KeyOf(string key) => KeyCodec.Encode(key, _prefix);

    public bool IsConnected => connection.IsConnected;

    /// <summary>The latest timestamp an L2 entry may carry at <paramref name="now"/>: later ones are forged or corrupt.</summary>
    public long LatestPlausible(long now) => Fusion.Core.Order.latestPlausible(now, maxClockSkew.Ticks);

    /// <summary>The key's envelope in a buffer StackExchange.Redis rented from its pool (null when L2 does not hold the key):
    /// the caller decodes it in place and disposes it, which gives the buffer back.</summary>
    public Task<Lease<byte>?> Get(string key) => connection.Required.GetDatabase().StringGetLeaseAsync(KeyOf(key));

    /// <summary>The Redis key of a tag's invalidation mark (null: the cache-wide one, <c>Clear</c>): under their own
    /// ":mark:" segment, apart from the entries' ":v2:" keys.</summary>
    public RedisKey MarkKeyOf(string? tag) => tag is null
        ? (RedisKey)KeyCodec.Encode("clear", _markPrefix)
        : KeyCodec.Encode(tag, _tagPrefix);

    private readonly byte[] _markPrefix = Encoding.UTF8.GetBytes(cacheName + ":mark:v" + MarkCodec.Version + ":");
    private readonly byte[] _tagPrefix = Encoding.UTF8.GetBytes(cacheName + ":mark:v" + MarkCodec.Version + ":tag:");

    /// <summary>Merges <paramref name="mark"/> into the stored mark of <paramref name="tag"/> (null: Clear); it lives at least
    /// <paramref name="lifetime"/>.</summary>
    public Task MergeMark(string? tag, Invalidation mark, TimeSpan lifetime) =>
        connection.Required.GetDatabase().ScriptEvaluateAsync(RedisScripts.MergeMark, [MarkKeyOf(tag)],
            [MarkCodec.Encode(mark), (long)Math.Max(1, lifetime.TotalMilliseconds)]);

    /// <summary>The stored marks of <paramref name="tags"/> (a null tag: Clear), one round trip; null where none is stored.</summary>
    public async Task<byte[]?[]> Marks(IReadOnlyList<string?> tags)
    {
        var keys = new RedisKey[tags.Count];
        for (var i = 0; i < keys.Length; i++) keys[i] = MarkKeyOf(tags[i]);
        var values = await connection.Required.GetDatabase().StringGetAsync(keys).ConfigureAwait(false);
        return values.Select(v => v.IsNull ? null : (byte[]?)v).ToArray();
    }

    /// <summary>The first bytes of each key's envelope (<see cref="EnvelopeCodec.WriteHeaderLength"/>), pipelined in one
    /// round trip: which write L2 holds, without its payload. Null for a key L2 does not hold.</summary>
    public async Task<byte[]?[]> Heads(IReadOnlyList<string> keys)
    {
        var db = connection.Required.GetDatabase();
        var reads = new Task<RedisValue>[keys.Count];
        for (var i = 0; i < reads.Length; i++) reads[i] = db.StringGetRangeAsync(KeyOf(keys[i]), 0, EnvelopeCodec.WriteHeaderLength - 1);
        var values = await Task.WhenAll(reads).ConfigureAwait(false);
        var heads = new byte[]?[values.Length];
        for (var i = 0; i < values.Length; i++) heads[i] = values[i].IsNullOrEmpty ? null : (byte[]?)values[i];
        return heads;
    }

    /// <summary>Applies <paramref name="write"/> at <paramref name="now"/> (its time to live counts from then). Returns
    /// null when done, or the (timestamp, origin) of the later write L2 holds when its guard refused this one.</summary>
    public async Task<(long Timestamp, long Origin)?> Apply(string key, L2Write write, long now)
    {
        var db = connection.Required.GetDatabase();
        RedisKey[] keys = [KeyOf(key)];
        var limit = BigEndian(LatestPlausible(now));
        RedisResult result;
        switch (write.What)
        {
            case L2Write.Kind.Put:
                var ttl = TimeToLiveMs(write.PhysicalExpiry, now);
                if (ttl < 0) return null; // already past its physical expiry: nothing to keep
                result = await db.ScriptEvaluateAsync(RedisScripts.SetIfNotOlder, keys, [write.Bytes, ttl, limit]).ConfigureAwait(false);
                break;
            case L2Write.Kind.Remove:
                var least = Math.Max(1, TimeToLiveMs(write.PhysicalExpiry, now));
                result = await db.ScriptEvaluateAsync(RedisScripts.RemoveIfNotNewer, keys, [write.Bytes, least, limit]).ConfigureAwait(false);
                break;
            case L2Write.Kind.Expire:
                result = await db.ScriptEvaluateAsync(RedisScripts.ExpireIfNotNewer, keys,
                    [write.Bytes[..16], write.Bytes[16..24], limit]).ConfigureAwait(false);
                break;
            default:
                throw new System.Diagnostics.UnreachableException();
        }
        if (result.Resp2Type != ResultType.BulkString) return null;
        var refusedBy = (byte[])result!;
        return (BinaryPrimitives.ReadInt64BigEndian(refusedBy), BinaryPrimitives.ReadInt64BigEndian(refusedBy.AsSpan(8)));
    }

    private static byte[] BigEndian(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    /// <summary>Milliseconds until <paramref name="physicalExpiry"/> (at least 1), 0 for never, −1 when already past.</summary>
    private static long TimeToLiveMs(long physicalExpiry, long now)
    {
        if (physicalExpiry == Ticks.Never) return 0;
        var ticks = physicalExpiry - now;
        return ticks <= 0 ? -1 : Math.Max(1, (ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond);
    }
}
