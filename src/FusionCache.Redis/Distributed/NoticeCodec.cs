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

    private const byte TagMarkKind = 5, ClearMarkKind = 6;
    private const int MarkHeaderLength = 18 + MarkCodec.Length;

    /// <summary>An invalidation: <c>RemoveByTag(tag)</c>, or <c>Clear</c> when <paramref name="tag"/> is null. Version, kind,
    /// sender, the mark (MarkCodec), then the tag (KeyCodec).</summary>
    public static byte[] EncodeMark(Guid sender, string? tag, Invalidation mark)
    {
        var header = new byte[MarkHeaderLength];
        header[0] = Version;
        header[1] = tag is null ? ClearMarkKind : TagMarkKind;
        sender.TryWriteBytes(header.AsSpan(2));
        MarkCodec.Encode(mark).CopyTo(header, 18);
        return tag is null ? header : KeyCodec.Encode(tag, header);
    }

    /// <summary>Whether the message is an invalidation; then its sender, tag (null: Clear) and mark, or a reason it is malformed.</summary>
    public static bool IsMark(ReadOnlySpan<byte> bytes, long latestTimestamp, out Guid sender, out string? tag, out Invalidation mark, out string? error)
    {
        sender = default;
        tag = null;
        mark = InvalidationModule.none;
        error = null;
        if (bytes.Length < 2 || bytes[0] != Version || (bytes[1] != TagMarkKind && bytes[1] != ClearMarkKind)) return false;
        if (bytes.Length < MarkHeaderLength) { error = $"{bytes.Length} bytes is too short for an invalidation"; return true; }
        if (!MarkCodec.TryDecode(bytes.Slice(18, MarkCodec.Length), latestTimestamp, out mark)) { error = "the invalidation's mark is malformed or beyond the clock-skew bound"; return true; }
        if (bytes[1] == TagMarkKind)
        {
            if (bytes.Length == MarkHeaderLength || !KeyCodec.TryDecode(bytes[MarkHeaderLength..], out var decoded)) { error = "the invalidation's tag does not decode"; return true; }
            tag = decoded;
        }
        else if (bytes.Length != MarkHeaderLength) { error = "a Clear carries no tag"; return true; }
        sender = new Guid(bytes[2..18]);
        return true;
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
