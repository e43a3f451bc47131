using System.Buffers.Binary;
using System.Text;

namespace Fusion.Tests.Distributed.Support;

/// <summary>
/// The wire formats of docs/wire-format.md, written from the document (not from the library's codecs), so that the
/// tests also check that the code and the document agree.
/// </summary>
internal static class Wire
{
    /// <summary>The fields of an L2 envelope (version 1).</summary>
    public sealed record Envelope(byte Version, long Timestamp, long LogicalExpiry, long PhysicalExpiry, long EagerRefreshAt,
        byte Flags, int FailSafeCycles, byte[] Payload)
    {
        public bool IsStale => (Flags & 1) != 0;
        public bool IsTombstone => (Flags & 2) != 0;
        public string PayloadText => Encoding.UTF8.GetString(Payload);

        /// <summary>The envelope's bytes.</summary>
        public byte[] ToBytes()
        {
            var bytes = new byte[38 + Payload.Length];
            bytes[0] = Version;
            BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(1), Timestamp);
            BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(9), LogicalExpiry);
            BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(17), PhysicalExpiry);
            BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(25), EagerRefreshAt);
            bytes[33] = Flags;
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(34), FailSafeCycles);
            Payload.CopyTo(bytes, 38);
            return bytes;
        }
    }

    public static Envelope Decode(byte[] bytes)
    {
        Assert.True(bytes.Length >= 38, $"an envelope has at least 38 bytes, this one {bytes.Length}");
        return new Envelope(
            bytes[0],
            BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(1)),
            BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(9)),
            BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(17)),
            BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(25)),
            bytes[33],
            BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(34)),
            bytes[38..]);
    }

    /// <summary>An envelope holding <paramref name="json"/>, written now, fresh for <paramref name="lifetime"/>.</summary>
    public static Envelope Fresh(string json, TimeSpan lifetime, byte version = 1, DateTimeOffset? at = null)
    {
        var now = (at ?? DateTimeOffset.UtcNow).UtcTicks;
        return new Envelope(version, now, now + lifetime.Ticks, now + lifetime.Ticks, long.MaxValue, 0, 0, Encoding.UTF8.GetBytes(json));
    }

    /// <summary>Backplane message kinds.</summary>
    public const byte Set = 1, Remove = 2, Expire = 3;

    /// <summary>A backplane message (version 1 unless told).</summary>
    public static byte[] Notice(byte kind, Guid sender, long timestamp, string key, byte version = 1)
    {
        var keyBytes = Encoding.UTF8.GetBytes(key);
        var bytes = new byte[26 + keyBytes.Length];
        bytes[0] = version;
        bytes[1] = kind;
        Assert.True(sender.TryWriteBytes(bytes.AsSpan(2, 16)));
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(18), timestamp);
        keyBytes.CopyTo(bytes, 26);
        return bytes;
    }
}
