using System.Buffers.Binary;
using Fusion.Core;

namespace Fusion.Distributed;

/// <summary>An L2 change ready to send (serialized already), so it can be retried or replayed as is.</summary>
internal sealed record L2Write(L2Write.Kind What, byte[] Argument, long PhysicalExpiry)
{
    public enum Kind { Put, Remove, Expire }

    /// <summary>The write for a core change; null for <c>Keep</c>. <paramref name="payload"/> serializes a Put's value.</summary>
    public static L2Write? From(L2Change change, Func<object, byte[]> payload) => change switch
    {
        L2Change.Put put => new(Kind.Put, EnvelopeCodec.Encode(put.Entry, payload(put.Entry.Value)), put.Entry.PhysicalExpiry),
        L2Change.Remove remove => new(Kind.Remove, EnvelopeCodec.Tombstone(remove.Timestamp), Ticks.add(remove.Timestamp, Lifecycle.TombstoneLifetime.Ticks)),
        L2Change.Expire expire => new(Kind.Expire, BigEndian(expire.Timestamp), Ticks.Never),
        { IsKeep: true } => null,
        _ => throw new System.Diagnostics.UnreachableException(),
    };

    private static byte[] BigEndian(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }
}
