using System.Buffers.Binary;
using Fusion.Core;

namespace Fusion.Distributed;

/// <summary>
/// An invalidation (<c>RemoveByTag</c>, <c>Clear</c>) as L2 keeps it and the backplane carries it: 41 bytes, version then
/// the removal's (timestamp, origin), the staling's (timestamp, origin) and its stale-from instant, big-endian, so the
/// merge script compares the pairs byte by byte. See docs/wire-format.md.
/// </summary>
internal static class MarkCodec
{
    public const byte Version = 1;
    public const int Length = 41;

    public static byte[] Encode(Invalidation inv)
    {
        var bytes = new byte[Length];
        bytes[0] = Version;
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(1), inv.RemovedAt);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(9), inv.RemovedBy);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(17), inv.StaledAt);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(25), inv.StaledBy);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(33), inv.StaleFrom);
        return bytes;
    }

    /// <summary>Reads a mark; false when the bytes are not one, or are stamped beyond <paramref name="latestTimestamp"/>.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, long latestTimestamp, out Invalidation inv)
    {
        inv = InvalidationModule.none;
        if (bytes.Length != Length || bytes[0] != Version) return false;
        var removedAt = BinaryPrimitives.ReadInt64BigEndian(bytes[1..]);
        var removedBy = BinaryPrimitives.ReadInt64BigEndian(bytes[9..]);
        var staledAt = BinaryPrimitives.ReadInt64BigEndian(bytes[17..]);
        var staledBy = BinaryPrimitives.ReadInt64BigEndian(bytes[25..]);
        var staleFrom = BinaryPrimitives.ReadInt64BigEndian(bytes[33..]);
        if (removedAt < 0 || removedBy < 0 || staledAt < 0 || staledBy < 0 || staleFrom < 0) return false;
        if (removedAt > latestTimestamp || staledAt > latestTimestamp) return false;
        inv = new Invalidation(removedAt, removedBy, staledAt, staledBy, staleFrom);
        return true;
    }
}
