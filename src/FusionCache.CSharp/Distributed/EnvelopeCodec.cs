using System.Buffers.Binary;
using Fusion.Core;

namespace Fusion.Distributed;

/// <summary>
/// The L2 value: a versioned envelope of the entry's metadata and the serializer's bytes. Big-endian
/// so that Redis-side scripts can compare the timestamp bytes in order. See docs/wire-format.md.
/// </summary>
internal static class EnvelopeCodec
{
    public const byte Version = 1;
    public const int TimestampOffset = 1;      // Lua compares these 8 bytes (0-based offset)
    public const int LogicalExpiryOffset = 9;  // Lua rewrites these 8 bytes on Expire
    public const int HeaderLength = 38;
    private const byte StaleFlag = 1, TombstoneFlag = 2;

    /// <summary>The L2 record of a remove at <paramref name="timestamp"/>: no value, never served,
    /// there only so that older writes are refused.</summary>
    public static byte[] Tombstone(long timestamp)
    {
        var bytes = new byte[HeaderLength];
        var span = bytes.AsSpan();
        span[0] = Version;
        BinaryPrimitives.WriteInt64BigEndian(span[TimestampOffset..], timestamp);
        BinaryPrimitives.WriteInt64BigEndian(span[LogicalExpiryOffset..], timestamp);
        BinaryPrimitives.WriteInt64BigEndian(span[17..], timestamp);
        BinaryPrimitives.WriteInt64BigEndian(span[25..], Ticks.Never);
        span[33] = TombstoneFlag;
        return bytes;
    }

    public static byte[] Encode(Entry entry, ReadOnlySpan<byte> payload)
    {
        var bytes = new byte[HeaderLength + payload.Length];
        var span = bytes.AsSpan();
        span[0] = Version;
        BinaryPrimitives.WriteInt64BigEndian(span[TimestampOffset..], entry.Timestamp);
        BinaryPrimitives.WriteInt64BigEndian(span[LogicalExpiryOffset..], entry.LogicalExpiry);
        BinaryPrimitives.WriteInt64BigEndian(span[17..], entry.PhysicalExpiry);
        BinaryPrimitives.WriteInt64BigEndian(span[25..], entry.EagerRefreshAt);
        span[33] = entry.IsStale ? StaleFlag : (byte)0;
        BinaryPrimitives.WriteInt32BigEndian(span[34..], entry.FailSafeCycles);
        payload.CopyTo(span[HeaderLength..]);
        return bytes;
    }

    /// <summary>Reads an envelope; false with a reason when the bytes are not one this version wrote.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, out Header header, out ReadOnlySpan<byte> payload, out string? error)
    {
        header = default;
        payload = default;
        if (bytes.Length < HeaderLength) { error = $"{bytes.Length} bytes is shorter than the {HeaderLength}-byte header"; return false; }
        if (bytes[0] != Version) { error = $"format version {bytes[0]}, expected {Version}"; return false; }
        header = new Header(
            BinaryPrimitives.ReadInt64BigEndian(bytes[TimestampOffset..]),
            BinaryPrimitives.ReadInt64BigEndian(bytes[LogicalExpiryOffset..]),
            BinaryPrimitives.ReadInt64BigEndian(bytes[17..]),
            BinaryPrimitives.ReadInt64BigEndian(bytes[25..]),
            (bytes[33] & StaleFlag) != 0,
            BinaryPrimitives.ReadInt32BigEndian(bytes[34..]),
            (bytes[33] & TombstoneFlag) != 0);
        if (header.LogicalExpiry > header.PhysicalExpiry || header.FailSafeCycles < 0 || bytes[33] > (StaleFlag | TombstoneFlag))
        {
            error = "inconsistent metadata";
            return false;
        }
        payload = bytes[HeaderLength..];
        error = null;
        return true;
    }

    /// <summary>The metadata of an L2 entry.</summary>
    public readonly record struct Header(long Timestamp, long LogicalExpiry, long PhysicalExpiry, long EagerRefreshAt, bool IsStale, int FailSafeCycles, bool IsTombstone)
    {
        /// <summary>The core entry holding <paramref name="value"/>. L2 has no write sequence: 0.</summary>
        public Entry ToEntry(object value) => new(value, Timestamp, 0, LogicalExpiry, PhysicalExpiry, EagerRefreshAt, IsStale, FailSafeCycles);
    }
}
