using System.Buffers;
using System.Buffers.Binary;
using Fusion.Core;

namespace Fusion.Distributed;

/// <summary>
/// The L2 value: a versioned envelope of the entry's metadata and the serializer's bytes. Big-endian
/// so that Redis-side scripts can compare the (timestamp, origin) bytes in order. See docs/wire-format.md.
/// </summary>
/// <remarks>What <see cref="TryDecode"/> accepts is exactly what the write guard in <see cref="RedisScripts"/>
/// treats as an entry of ours: anything else never blocks a later write (SEMANTICS §4, guard = decoder).</remarks>
internal static class EnvelopeCodec
{
    public const byte Version = 2;
    public const int TimestampOffset = 1;      // Lua compares these 16 bytes (timestamp, origin); 0-based
    public const int OriginOffset = 9;
    public const int LogicalExpiryOffset = 17; // Lua rewrites these 8 bytes on Expire
    public const int PhysicalExpiryOffset = 25;
    public const int EagerRefreshOffset = 33;
    public const int FlagsOffset = 41;
    public const int CyclesOffset = 42;
    public const int HeaderLength = 46;
    private const byte StaleFlag = 1, TombstoneFlag = 2, ValidatorFlag = 4;
    /// <summary>Flag bit 3: the payload is an uncompressed length (4 bytes) and an LZ4 block.</summary>
    public const byte CompressedFlag = 8;
    private const byte KnownFlags = StaleFlag | TombstoneFlag | ValidatorFlag | CompressedFlag;
    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The L2 record of a remove at <paramref name="timestamp"/> by <paramref name="origin"/>: no value, never
    /// served, there only so that older writes are refused.</summary>
    public static byte[] Tombstone(long timestamp, long origin)
    {
        var bytes = new byte[HeaderLength];
        WriteHeader(bytes, timestamp, origin, timestamp, timestamp, Ticks.Never, TombstoneFlag, 0);
        return bytes;
    }

    /// <summary>The envelope of <paramref name="entry"/> with <paramref name="payload"/> as an array (tests, tools): the same
    /// bytes as <see cref="WriteSections"/>, the payload and <see cref="FinishPayload"/> write into a pooled buffer.</summary>
    public static byte[] Encode(Entry entry, ReadOnlySpan<byte> payload, int compressionThreshold = 0)
    {
        var writer = PooledBuffer.Rent();
        try
        {
            var payloadStart = WriteSections(writer, entry);
            writer.Write(payload);
            FinishPayload(writer, payloadStart, compressionThreshold);
            return writer.Written.ToArray();
        }
        finally
        {
            writer.Abandon();
        }
    }

    /// <summary>Writes the header, the tags and the validator of <paramref name="entry"/> to <paramref name="writer"/>;
    /// returns where the payload starts (the serializer writes it next, then <see cref="FinishPayload"/>).</summary>
    public static int WriteSections(PooledBuffer writer, Entry entry)
    {
        // The validator (conditional refresh), only when there is one: the ETag as a length and its UTF-8, then LastModified.
        var validator = entry.Validator;
        var hasValidator = ValidatorModule.isSome(validator);
        var etag = validator.ETag is { } e ? StrictUtf8.GetBytes(e) : null;
        if (etag is { Length: > ushort.MaxValue }) throw new ArgumentException($"the ETag is {etag.Length} bytes long, at most {ushort.MaxValue}");
        if (entry.Tags.Length > ushort.MaxValue) throw new ArgumentException($"an entry carries {entry.Tags.Length} tags, at most {ushort.MaxValue}");
        var start = writer.WrittenCount;
        var header = writer.GetSpan(HeaderLength + 2);
        WriteHeader(header, entry.Timestamp, entry.Origin, entry.LogicalExpiry, entry.PhysicalExpiry, entry.EagerRefreshAt,
            (byte)((entry.IsStale ? StaleFlag : 0) | (hasValidator ? ValidatorFlag : 0)), entry.FailSafeCycles);
        // The tags: a count, then each as a length and its bytes (KeyCodec), before the payload. An untagged entry: 2 bytes.
        BinaryPrimitives.WriteUInt16BigEndian(header[HeaderLength..], (ushort)entry.Tags.Length);
        writer.Advance(HeaderLength + 2);
        for (var i = 0; i < entry.Tags.Length; i++)
        {
            var tag = KeyCodec.Encode(entry.Tags[i]);
            if (tag.Length > ushort.MaxValue)
            {
                writer.Truncate(start);
                throw new ArgumentException($"tag {i} is {tag.Length} bytes long, at most {ushort.MaxValue}");
            }
            var span = writer.GetSpan(2 + tag.Length);
            BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)tag.Length);
            tag.CopyTo(span[2..]);
            writer.Advance(2 + tag.Length);
        }
        if (hasValidator)
        {
            var length = etag?.Length ?? 0;
            var span = writer.GetSpan(2 + length + 8);
            BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)length);
            etag?.CopyTo(span[2..]);
            BinaryPrimitives.WriteInt64BigEndian(span[(2 + length)..], validator.LastModified);
            writer.Advance(2 + length + 8);
        }
        return writer.WrittenCount;
    }

    /// <summary>After the serializer wrote the payload from <paramref name="payloadStart"/>: when it is at least
    /// <paramref name="compressionThreshold"/> bytes (0: never) and LZ4 makes it smaller, replaces it by its uncompressed
    /// length (4 bytes) and the LZ4 block, and sets flag bit 3. Returns whether it did.</summary>
    public static bool FinishPayload(PooledBuffer writer, int payloadStart, int compressionThreshold)
    {
        var length = writer.WrittenCount - payloadStart;
        if (compressionThreshold <= 0 || length < compressionThreshold || length == 0) return false;
        var scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(K4os.Compression.LZ4.LZ4Codec.MaximumOutputSize(length));
        try
        {
            var compressed = K4os.Compression.LZ4.LZ4Codec.Encode(writer.Written[payloadStart..], scratch);
            if (compressed <= 0 || compressed + 4 >= length) return false; // not worth it: the payload stays as it is
            writer.Truncate(payloadStart);
            var span = writer.GetSpan(4 + compressed);
            BinaryPrimitives.WriteInt32BigEndian(span, length);
            scratch.AsSpan(0, compressed).CopyTo(span[4..]);
            writer.Advance(4 + compressed);
            writer.Written[FlagsOffset] |= CompressedFlag; // the envelope starts at 0 in an L2 write's buffer
            return true;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>Decompresses an LZ4 payload (flag bit 3) of <paramref name="length"/> bytes into an array rented from the
    /// pool (the caller returns it); false with a reason when the block does not decode to exactly that many bytes, or
    /// claims more than LZ4 can expand it to (a forged length must not make the reader allocate gigabytes).</summary>
    public static bool TryDecompress(ReadOnlySpan<byte> block, int length, out byte[]? rented, out string? error)
    {
        rented = null;
        if (length > MaxExpansion(block.Length)) { error = $"an uncompressed length of {length} bytes, more than LZ4 makes of {block.Length}"; return false; }
        var target = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        int decoded;
        try { decoded = K4os.Compression.LZ4.LZ4Codec.Decode(block, target.AsSpan(0, length)); }
        catch (Exception ex) when (ex is not OutOfMemoryException) { decoded = -1; }
        if (decoded != length)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(target);
            error = decoded < 0 ? "the compressed payload does not decode" : $"the compressed payload decodes to {decoded} bytes, not {length}";
            return false;
        }
        rented = target;
        error = null;
        return true;
    }

    // An LZ4 block expands at most about 255 times (a match token and its length bytes), plus a literal tail.
    private static long MaxExpansion(int blockLength) => 255L * blockLength + 64;

    /// <summary>Reads the tags after the header; false when they do not decode. <paramref name="payload"/> is what follows.</summary>
    private static bool TryReadTags(ReadOnlySpan<byte> body, out string[] tags, out ReadOnlySpan<byte> payload)
    {
        tags = Tagged.untagged;
        payload = default;
        if (body.Length < 2) return false;
        int count = BinaryPrimitives.ReadUInt16BigEndian(body);
        var at = 2;
        if (count > 0) tags = new string[count];
        for (var i = 0; i < count; i++)
        {
            if (body.Length < at + 2) return false;
            int length = BinaryPrimitives.ReadUInt16BigEndian(body[at..]);
            if (length == 0 || body.Length < at + 2 + length || !KeyCodec.TryDecode(body.Slice(at + 2, length), out tags[i])) return false;
            at += 2 + length;
        }
        payload = body[at..];
        return true;
    }

    /// <summary>Reads the validator at the start of <paramref name="body"/>; false when it does not decode.</summary>
    private static bool TryReadValidator(ReadOnlySpan<byte> body, out Validator validator, out ReadOnlySpan<byte> payload)
    {
        validator = ValidatorModule.none;
        payload = default;
        if (body.Length < 2) return false;
        int length = BinaryPrimitives.ReadUInt16BigEndian(body);
        if (body.Length < 2 + length + 8) return false;
        string? etag = null;
        if (length > 0)
        {
            try { etag = StrictUtf8.GetString(body.Slice(2, length)); }
            catch (System.Text.DecoderFallbackException) { return false; }
        }
        var lastModified = BinaryPrimitives.ReadInt64BigEndian(body[(2 + length)..]);
        if (lastModified < 0 || (etag is null && lastModified == 0)) return false; // the flag says there is one
        validator = new Validator(etag, lastModified);
        payload = body[(2 + length + 8)..];
        return true;
    }

    private static void WriteHeader(Span<byte> span, long timestamp, long origin, long logical, long physical, long eager, byte flags, int cycles)
    {
        span[0] = Version;
        BinaryPrimitives.WriteInt64BigEndian(span[TimestampOffset..], timestamp);
        BinaryPrimitives.WriteInt64BigEndian(span[OriginOffset..], origin);
        BinaryPrimitives.WriteInt64BigEndian(span[LogicalExpiryOffset..], logical);
        BinaryPrimitives.WriteInt64BigEndian(span[PhysicalExpiryOffset..], physical);
        BinaryPrimitives.WriteInt64BigEndian(span[EagerRefreshOffset..], eager);
        span[FlagsOffset] = flags;
        BinaryPrimitives.WriteInt32BigEndian(span[CyclesOffset..], cycles);
    }

    /// <summary>Reads an envelope; false with a reason when the bytes are not one this version wrote, or are stamped
    /// after <paramref name="latestTimestamp"/> (beyond the clock-skew bound: forged or corrupt).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, long latestTimestamp, out Header header, out ReadOnlySpan<byte> payload, out string? error)
    {
        header = default;
        payload = default;
        if (bytes.Length < HeaderLength) { error = $"{bytes.Length} bytes is shorter than the {HeaderLength}-byte header"; return false; }
        if (bytes[0] != Version) { error = $"format version {bytes[0]}, expected {Version}"; return false; }
        header = new Header(
            BinaryPrimitives.ReadInt64BigEndian(bytes[TimestampOffset..]),
            BinaryPrimitives.ReadInt64BigEndian(bytes[OriginOffset..]),
            BinaryPrimitives.ReadInt64BigEndian(bytes[LogicalExpiryOffset..]),
            BinaryPrimitives.ReadInt64BigEndian(bytes[PhysicalExpiryOffset..]),
            BinaryPrimitives.ReadInt64BigEndian(bytes[EagerRefreshOffset..]),
            (bytes[FlagsOffset] & StaleFlag) != 0,
            BinaryPrimitives.ReadInt32BigEndian(bytes[CyclesOffset..]),
            (bytes[FlagsOffset] & TombstoneFlag) != 0);
        // The same checks, in the same order, as `guarded` in RedisScripts.
        if (header.Timestamp < 0 || header.Origin < 0) { error = "a negative timestamp or origin"; return false; }
        if (header.Timestamp > latestTimestamp) { error = $"stamped {new DateTime(Math.Min(header.Timestamp, DateTime.MaxValue.Ticks), DateTimeKind.Utc):O}, beyond the clock-skew bound"; return false; }
        if (header.LogicalExpiry < 0 || header.LogicalExpiry > header.PhysicalExpiry || bytes[FlagsOffset] > KnownFlags || header.FailSafeCycles < 0)
        {
            error = "inconsistent metadata";
            return false;
        }
        if (header.IsTombstone) { payload = default; error = null; return true; } // a tombstone ends with its header
        if (!TryReadTags(bytes[HeaderLength..], out var tags, out payload)) { error = "the tags do not decode"; return false; }
        var validator = ValidatorModule.none;
        if ((bytes[FlagsOffset] & ValidatorFlag) != 0 && !TryReadValidator(payload, out validator, out payload)) { error = "the validator does not decode"; return false; }
        var uncompressed = 0;
        if ((bytes[FlagsOffset] & CompressedFlag) != 0)
        {
            // The uncompressed length (positive) and at least one byte of LZ4 block; whether the block decodes to that
            // length is the payload's check (TryDecompress), as the serializer's is: the guard reads no payload.
            if (payload.Length < 5) { error = "the compressed payload is shorter than its length and one byte"; return false; }
            uncompressed = BinaryPrimitives.ReadInt32BigEndian(payload);
            if (uncompressed <= 0) { error = $"an uncompressed length of {uncompressed}"; return false; }
            payload = payload[4..];
        }
        header = header with { Tags = tags, Validator = validator, UncompressedLength = uncompressed };
        error = null;
        return true;
    }

    /// <summary>Bytes of the header a revalidation reads (version to flags): what says which write L2 holds.</summary>
    public const int WriteHeaderLength = FlagsOffset + 1;

    /// <summary>Reads the write an envelope's first <see cref="WriteHeaderLength"/> bytes describe; false when they
    /// are not the start of an envelope the decoder would accept (the guard's checks on the header).</summary>
    public static bool TryReadWrite(ReadOnlySpan<byte> head, long latestTimestamp, out long timestamp, out long origin, out long logicalExpiry)
    {
        timestamp = origin = logicalExpiry = 0;
        if (head.Length < WriteHeaderLength || head[0] != Version) return false;
        timestamp = BinaryPrimitives.ReadInt64BigEndian(head[TimestampOffset..]);
        origin = BinaryPrimitives.ReadInt64BigEndian(head[OriginOffset..]);
        logicalExpiry = BinaryPrimitives.ReadInt64BigEndian(head[LogicalExpiryOffset..]);
        var physical = BinaryPrimitives.ReadInt64BigEndian(head[PhysicalExpiryOffset..]);
        return timestamp >= 0 && origin >= 0 && timestamp <= latestTimestamp && logicalExpiry >= 0 && logicalExpiry <= physical && head[FlagsOffset] <= KnownFlags;
    }

    /// <summary>The metadata of an L2 entry.</summary>
    public readonly record struct Header(long Timestamp, long Origin, long LogicalExpiry, long PhysicalExpiry, long EagerRefreshAt, bool IsStale, int FailSafeCycles, bool IsTombstone)
    {
        /// <summary>The tags the entry carries (empty for none).</summary>
        public string[] Tags { get; init; } = Tagged.untagged;

        /// <summary>What the source said about the value (conditional refresh); none by default.</summary>
        public Validator Validator { get; init; } = ValidatorModule.none;

        /// <summary>With flag bit 3, the payload's length once decompressed (the payload is then an LZ4 block); 0 otherwise.</summary>
        public int UncompressedLength { get; init; }

        /// <summary>The core entry holding <paramref name="value"/>: the same write (timestamp and origin) as the writer's L1 copy.</summary>
        public Entry ToEntry(object value) =>
            new(value, Timestamp, Origin, LogicalExpiry, PhysicalExpiry, EagerRefreshAt, IsStale, FailSafeCycles, EntryMetaModule.ofParts(Tags ?? Tagged.untagged, Validator));
    }
}
