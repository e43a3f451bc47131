using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace Fusion.Distributed;

/// <summary>
/// A cache key as bytes, for Redis keys and backplane messages: UTF-8 when the key is well-formed UTF-16, and
/// otherwise (a lone surrogate) a 0xFF marker then UTF-16LE. 0xFF never occurs in UTF-8, so the encoding is
/// one-to-one: two keys that differ only in lone surrogates never share an L2 entry, and a notification
/// names exactly the key it was sent for. See docs/wire-format.md.
/// </summary>
internal static class KeyCodec
{
    private const byte Utf16Marker = 0xFF;

    /// <summary>The bytes of <paramref name="key"/>, after <paramref name="prefix"/> (ASCII-safe, UTF-8).</summary>
    public static byte[] Encode(string key, ReadOnlySpan<byte> prefix = default)
    {
        var bytes = new byte[prefix.Length + Encoding.UTF8.GetByteCount(key)];
        prefix.CopyTo(bytes);
        var status = Utf8.FromUtf16(key, bytes.AsSpan(prefix.Length), out _, out var written, replaceInvalidSequences: false);
        if (status == OperationStatus.Done && prefix.Length + written == bytes.Length) return bytes;
        // Not well-formed UTF-16: UTF-8 would replace the lone surrogate by U+FFFD, merging distinct keys.
        var raw = new byte[prefix.Length + 1 + key.Length * 2];
        prefix.CopyTo(raw);
        raw[prefix.Length] = Utf16Marker;
        // Char by char: Encoding.Unicode would replace the lone surrogate too.
        var span = raw.AsSpan(prefix.Length + 1);
        for (var i = 0; i < key.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(span[(2 * i)..], key[i]);
        return raw;
    }

    /// <summary>The key encoded by <see cref="Encode"/>; false when the bytes are neither well-formed UTF-8 nor a
    /// marked UTF-16LE key.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, out string key)
    {
        key = "";
        if (bytes.Length > 0 && bytes[0] == Utf16Marker)
        {
            if ((bytes.Length - 1) % 2 != 0) return false;
            var chars = new char[(bytes.Length - 1) / 2];
            for (var i = 0; i < chars.Length; i++) chars[i] = (char)BinaryPrimitives.ReadUInt16LittleEndian(bytes[(1 + 2 * i)..]);
            key = new string(chars);
            return true;
        }
        try
        {
            key = Strict.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static readonly UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);
}
