using System.Buffers.Binary;
using Fusion.Core;

namespace Fusion.Distributed;

/// <summary>
/// The backplane message: version, kind, sender's instance id, timestamp, key (<see cref="KeyCodec"/>). Small
/// and versioned; anything else on the channel is ignored. The write's origin is the sender's
/// (<c>Order.originOf</c>): a node only ever announces its own writes. See docs/wire-format.md.
/// </summary>
internal static class NoticeCodec
{
    public const byte Version = 2;
    private const int HeaderLength = 26;
    private const byte SetKind = 1, RemoveKind = 2, ExpireKind = 3, ProbeKind = 4;

    /// <summary>A probe: a node's message to itself, to learn that its subscription is live (other nodes ignore it).</summary>
    public static byte[] Probe(Guid sender)
    {
        var bytes = new byte[18];
        bytes[0] = Version;
        bytes[1] = ProbeKind;
        sender.TryWriteBytes(bytes.AsSpan(2));
        return bytes;
    }

    public static bool IsProbe(ReadOnlySpan<byte> bytes, out Guid sender)
    {
        sender = bytes.Length == 18 && bytes[0] == Version && bytes[1] == ProbeKind ? new Guid(bytes[2..18]) : Guid.Empty;
        return sender != Guid.Empty;
    }

    public static byte[] Encode(Guid sender, string key, Remote notice)
    {
        var kind = notice switch
        {
            Remote.Set => SetKind,
            Remote.Remove => RemoveKind,
            Remote.Expire => ExpireKind,
            _ => throw new System.Diagnostics.UnreachableException(),
        };
        var header = new byte[HeaderLength];
        var span = header.AsSpan();
        span[0] = Version;
        span[1] = kind;
        sender.TryWriteBytes(span[2..18]);
        BinaryPrimitives.WriteInt64BigEndian(span[18..], Lifecycle.timestampOf(notice));
        return KeyCodec.Encode(key, header);
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
        var from = new Guid(bytes[2..18]);
        var origin = Order.originOf(from);
        Remote? decoded = bytes[1] switch
        {
            SetKind => Remote.NewSet(timestamp, origin),
            RemoveKind => Remote.NewRemove(timestamp, origin),
            ExpireKind => Remote.NewExpire(timestamp, origin),
            _ => null,
        };
        if (decoded is null) { error = $"unknown kind {bytes[1]}"; return false; }
        if (!KeyCodec.TryDecode(bytes[HeaderLength..], out key)) { error = "the key is not valid UTF-8"; return false; }
        sender = from;
        notice = decoded;
        error = null;
        return true;
    }
}
