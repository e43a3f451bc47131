using System.Buffers.Binary;
using Fusion.Core;

namespace Fusion.Distributed;

/// <summary>An L2 change ready to send (serialized already), so it can be retried or replayed as is.
/// <see cref="Timestamp"/> orders it among the same node's changes of the key (the recovery merge).</summary>
internal sealed record L2Write(L2Write.Kind What, byte[] Argument, long PhysicalExpiry, long Timestamp)
{
    public enum Kind { Put, Remove, Expire }

    /// <summary>Put or Remove: replaces whatever the key held (the merge keeps the newest); Expire only changes it.</summary>
    public bool Replaces => What != Kind.Expire;

    /// <summary>The write for a core change; null for <c>Keep</c>. <paramref name="payload"/> serializes a Put's value.</summary>
    public static L2Write? From(L2Change change, Func<object, byte[]> payload) => change switch
    {
        L2Change.Put put => new(Kind.Put, EnvelopeCodec.Encode(put.Entry, payload(put.Entry.Value)), put.Entry.PhysicalExpiry, put.Entry.Timestamp),
        L2Change.Remove remove => new(Kind.Remove, EnvelopeCodec.Tombstone(remove.Timestamp, remove.Origin),
            Ticks.add(remove.Timestamp, Lifecycle.TombstoneLifetime.Ticks), remove.Timestamp),
        L2Change.Expire expire => new(Kind.Expire, ExpireArgument(expire.Timestamp, expire.Origin, expire.At), Ticks.Never, expire.Timestamp),
        { IsKeep: true } => null,
        _ => throw new System.Diagnostics.UnreachableException(),
    };

    /// <summary>(timestamp, origin) for the guard, then the instant the value expires at: 24 bytes, big-endian.</summary>
    private static byte[] ExpireArgument(long timestamp, long origin, long at)
    {
        var bytes = new byte[24];
        BinaryPrimitives.WriteInt64BigEndian(bytes, timestamp);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(8), origin);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(16), at);
        return bytes;
    }
}
