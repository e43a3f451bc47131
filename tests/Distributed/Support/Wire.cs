using System.Buffers.Binary;
using System.Text;

namespace Fusion.Tests.Distributed.Support;

/// <summary>
/// The wire formats of docs/wire-format.md, written from the document (not from the library's codecs), so that the
/// tests also check that the code and the document agree.
/// </summary>
internal static class Wire
{
    /// <summary>The current format version of envelopes and backplane messages.</summary>
    public const byte Version = 2;

    /// <summary>The fields of an L2 envelope (version 2: a 46-byte header; then, unless a tombstone, the tags (a 2-byte
    /// count, each a 2-byte length and its UTF-8) and the payload).</summary>
    public sealed record Envelope(byte Version, long Timestamp, long Origin, long LogicalExpiry, long PhysicalExpiry, long EagerRefreshAt,
        byte Flags, int FailSafeCycles, byte[] Payload)
    {
        /// <summary>The tags (none unless set).</summary>
        public string[] Tags { get; init; } = [];

        /// <summary>The validator section (flag bit 2): the ETag's UTF-8 (empty for none) and LastModified; null for none.</summary>
        public (byte[] ETag, long LastModified)? Validator { get; init; }

        public string? ETag => Validator is { ETag.Length: > 0 } v ? Encoding.UTF8.GetString(v.ETag) : null;

        public bool IsStale => (Flags & 1) != 0;
        public bool IsTombstone => (Flags & 2) != 0;
        public string PayloadText => Encoding.UTF8.GetString(Payload);

        /// <summary>The envelope's bytes.</summary>
        public byte[] ToBytes()
        {
            var tagSection = new List<byte> { (byte)(Tags.Length >> 8), (byte)Tags.Length };
            foreach (var tag in Tags)
            {
                var utf8 = Encoding.UTF8.GetBytes(tag);
                tagSection.Add((byte)(utf8.Length >> 8));
                tagSection.Add((byte)utf8.Length);
                tagSection.AddRange(utf8);
            }
            if (Validator is { } v)
            {
                tagSection.Add((byte)(v.ETag.Length >> 8));
                tagSection.Add((byte)v.ETag.Length);
                tagSection.AddRange(v.ETag);
                var at = new byte[8];
                BinaryPrimitives.WriteInt64BigEndian(at, v.LastModified);
                tagSection.AddRange(at);
            }
            var tags = IsTombstone ? [] : tagSection.ToArray();
            var bytes = new byte[46 + tags.Length + Payload.Length];
            tags.CopyTo(bytes, 46);
            bytes[0] = Version;
            BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(1), Timestamp);
            BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(9), Origin);
            BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(17), LogicalExpiry);
            BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(25), PhysicalExpiry);
            BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(33), EagerRefreshAt);
            bytes[41] = Flags;
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(42), FailSafeCycles);
            Payload.CopyTo(bytes, 46 + tags.Length);
            return bytes;
        }
    }

    public static Envelope Decode(byte[] bytes)
    {
        Assert.True(bytes.Length >= 46, $"an envelope has at least 46 bytes, this one {bytes.Length}");
        var tags = new List<string>();
        var at = 46;
        if ((bytes[41] & 2) == 0) // not a tombstone: the tags come next
        {
            var count = bytes[at] << 8 | bytes[at + 1];
            at += 2;
            for (var i = 0; i < count; i++)
            {
                var length = bytes[at] << 8 | bytes[at + 1];
                tags.Add(Encoding.UTF8.GetString(bytes, at + 2, length));
                at += 2 + length;
            }
        }
        (byte[], long)? validator = null;
        if ((bytes[41] & 4) != 0) // the validator comes after the tags
        {
            var length = bytes[at] << 8 | bytes[at + 1];
            validator = (bytes[(at + 2)..(at + 2 + length)], BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(at + 2 + length)));
            at += 2 + length + 8;
        }
        return new Envelope(
            bytes[0],
            BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(1)),
            BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(9)),
            BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(17)),
            BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(25)),
            BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(33)),
            bytes[41],
            BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(42)),
            bytes[at..]) { Tags = [.. tags], Validator = validator };
    }

    /// <summary>An envelope holding <paramref name="json"/>, written now (or at <paramref name="at"/>) by origin 1, fresh
    /// for <paramref name="lifetime"/>.</summary>
    public static Envelope Fresh(string json, TimeSpan lifetime, byte version = Version, DateTimeOffset? at = null)
    {
        var now = (at ?? DateTimeOffset.UtcNow).UtcTicks;
        return new Envelope(version, now, 1, now + lifetime.Ticks, now + lifetime.Ticks, long.MaxValue, 0, 0, Encoding.UTF8.GetBytes(json));
    }

    /// <summary>A node's origin, from its instance id: the first 8 bytes (big-endian) with the sign bit cleared.</summary>
    public static long OriginOf(Guid instanceId) => BinaryPrimitives.ReadInt64BigEndian(instanceId.ToByteArray()) & long.MaxValue;

    /// <summary>Backplane message kinds.</summary>
    public const byte Set = 1, Remove = 2, Expire = 3;

    /// <summary>A backplane message (the current version unless told).</summary>
    public static byte[] Notice(byte kind, Guid sender, long timestamp, string key, byte version = Version)
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
