using System.Buffers.Binary;
using System.Text;
using Fusion.Core;

namespace Fusion.Distributed;

/// <summary>
/// The backplane message: version, kind, sender's instance id, timestamp, key. Small and versioned;
/// anything else on the channel is ignored. See docs/wire-format.md.
/// </summary>
internal static class NoticeCodec
{
    public const byte Version = 1;
    private const int HeaderLength = 26;
    private const byte SetKind = 1, RemoveKind = 2, ExpireKind = 3;

    public static byte[] Encode(Guid sender, string key, Remote notice)
    {
        var (kind, timestamp) = notice switch
        {
            Remote.Set s => (SetKind, s.Timestamp),
            Remote.Remove r => (RemoveKind, r.Timestamp),
            Remote.Expire e => (ExpireKind, e.Timestamp),
            _ => throw new System.Diagnostics.UnreachableException(),
        };
        var keyLength = Encoding.UTF8.GetByteCount(key);
        var bytes = new byte[HeaderLength + keyLength];
        var span = bytes.AsSpan();
        span[0] = Version;
        span[1] = kind;
        sender.TryWriteBytes(span[2..18]);
        BinaryPrimitives.WriteInt64BigEndian(span[18..], timestamp);
        Encoding.UTF8.GetBytes(key, span[HeaderLength..]);
        return bytes;
    }

    /// <summary>Reads a message; false with a reason when it is not one this version wrote.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, out Guid sender, out string key, out Remote notice, out string? error)
    {
        sender = default;
        key = "";
        notice = null!;
        if (bytes.Length <= HeaderLength) { error = $"{bytes.Length} bytes is too short for a message"; return false; }
        if (bytes[0] != Version) { error = $"format version {bytes[0]}, expected {Version}"; return false; }
        var timestamp = BinaryPrimitives.ReadInt64BigEndian(bytes[18..]);
        Remote? decoded = bytes[1] switch
        {
            SetKind => Remote.NewSet(timestamp),
            RemoveKind => Remote.NewRemove(timestamp),
            ExpireKind => Remote.NewExpire(timestamp),
            _ => null,
        };
        if (decoded is null) { error = $"unknown kind {bytes[1]}"; return false; }
        try
        {
            key = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes[HeaderLength..]);
        }
        catch (DecoderFallbackException)
        {
            error = "the key is not valid UTF-8";
            return false;
        }
        sender = new Guid(bytes[2..18]);
        notice = decoded;
        error = null;
        return true;
    }
}
