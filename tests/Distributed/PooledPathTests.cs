using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using K4os.Compression.LZ4;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>
/// The Redis path through pooled buffers (the envelope written into one rented array, read from StackExchange.Redis'
/// leased buffer) and LZ4 compression (flag bit 3, docs/wire-format.md), on a real Redis: small, large (more than 64 KB)
/// and compressed values round-trip between nodes; a node with compression on and one with it off read each other's
/// entries; a corrupt compressed payload is a miss with a log line, never an exception.
/// </summary>
public sealed class PooledPathTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>
{
    public sealed record Doc(int Id, string Title, string[] Lines);

    private Nodes Start(int count, Func<FusionCacheBuilder, FusionCacheBuilder>? configure = null) =>
        Nodes.Start(redis.Server.ConnectionString(), count, b => (configure ?? (x => x))(b.WithDuration(TimeSpan.FromMinutes(5))), log);

    /// <summary>About <paramref name="kilobytes"/> KB of JSON; repetitive (LZ4 shrinks it a lot) or random (it does not).</summary>
    private static Doc MakeDoc(int id, int kilobytes, bool compressible)
    {
        var rng = new Random(id);
        var lines = new string[kilobytes * 1024 / 64];
        for (var i = 0; i < lines.Length; i++)
            lines[i] = compressible
                ? $"line {i % 10}: the quick brown fox jumps over the lazy dog {i % 3}"
                : Convert.ToBase64String(Enumerable.Range(0, 45).Select(_ => (byte)rng.Next(256)).ToArray());
        return new Doc(id, $"document {id}", lines);
    }

    private static void Same(Doc expected, Doc actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Title, actual.Title);
        Assert.Equal(expected.Lines, actual.Lines);
    }

    private static async Task<byte[]> Raw(RedisServerFixture redis, Nodes nodes, string key) =>
        (byte[])(await (await Admin.Of(redis)).GetDatabase().StringGetAsync(nodes.RedisKey(key)))!;

    [Theory]
    [InlineData(0)]   // a few bytes
    [InlineData(1)]   // a kilobyte
    [InlineData(100)] // more than 64 KB: past the first buffer sizes of every pool on the way, and Redis' read buffer
    public async Task Values_RoundTripThroughThePooledPath_BetweenNodes(int kilobytes)
    {
        using var nodes = Start(2);
        var doc = MakeDoc(kilobytes, kilobytes, compressible: false);
        await nodes.A.Set("k", doc);

        Same(doc, Expect.Some(await nodes.B.TryGet<Doc>("k"))); // B's L1 is empty: read from L2

        var stored = Wire.Decode(await Raw(redis, nodes, "k"));
        Assert.Equal(0, stored.Flags & 8); // compression is off by default
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(doc), stored.Payload); // exactly the serializer's bytes, nothing else
        Assert.Equal(0, Interlocked.Read(ref nodes.B.Distributed!.UnreadablePayloads));
    }

    [Fact]
    public async Task ConcurrentWritesOfManySizes_EachLandWhole()
    {
        // Envelopes written at once on a few threads, each into a rented array that goes back to the pool when Redis has
        // answered: an array given back too early would be written over by the next envelope before Redis read it.
        using var nodes = Start(2, b => b.WithCompression(threshold: 4096));
        var docs = Enumerable.Range(0, 120).Select(i => MakeDoc(i, i % 12 * 3, compressible: i % 2 == 0)).ToArray();
        await Task.WhenAll(docs.Select(d => Task.Run(async () => await nodes.A.Set($"k{d.Id}", d))));

        foreach (var doc in docs) Same(doc, Expect.Some(await nodes.B.TryGet<Doc>($"k{doc.Id}")));
        Assert.Equal(0, Interlocked.Read(ref nodes.B.Distributed!.UnreadablePayloads));
    }

    [Fact]
    public async Task ACompressedValue_IsStoredAsTheDocumentSays_AndReadByANodeWithoutCompression()
    {
        using var nodes = Start(1, b => b.WithCompression(threshold: 1024));
        var off = nodes.Add(); // compression off
        var doc = MakeDoc(16, 16, compressible: true);
        var json = JsonSerializer.SerializeToUtf8Bytes(doc);
        await nodes.A.Set("big", doc);

        // The document's layout: flag bit 3, then the uncompressed length (4 bytes, big-endian) and the LZ4 block.
        var stored = Wire.Decode(await Raw(redis, nodes, "big"));
        Assert.Equal(8, stored.Flags & 8);
        Assert.Equal(json.Length, BinaryPrimitives.ReadInt32BigEndian(stored.Payload));
        var decoded = new byte[json.Length];
        Assert.Equal(json.Length, LZ4Codec.Decode(stored.Payload.AsSpan(4), decoded));
        Assert.Equal(json, decoded);
        log.WriteLine($"16 KB document: {json.Length} bytes of JSON stored as {stored.Payload.Length} (+ 48 of header and tags)");
        Assert.True(stored.Payload.Length < json.Length / 4, $"{stored.Payload.Length} bytes for {json.Length} of repetitive JSON");

        Same(doc, Expect.Some(await off.TryGet<Doc>("big")));

        // And the other way: the node without compression writes plainly, the node with it reads that too.
        var other = MakeDoc(17, 16, compressible: true);
        await ClockStep.Pass();
        await off.Set("big", other);
        Assert.Equal(0, Wire.Decode(await Raw(redis, nodes, "big")).Flags & 8);
        nodes.A.Memory.Remove("big");
        Same(other, Expect.Some(await nodes.A.TryGet<Doc>("big")));
        Assert.Equal(0, Interlocked.Read(ref nodes.A.Distributed!.UnreadablePayloads) + Interlocked.Read(ref off.Distributed!.UnreadablePayloads));
    }

    [Fact]
    public async Task SmallOrIncompressiblePayloads_AreStoredPlainly_WithCompressionOn()
    {
        using var nodes = Start(2, b => b.WithCompression(threshold: 1024));
        var small = MakeDoc(1, 0, compressible: true); // under the threshold
        var random = MakeDoc(2, 8, compressible: false); // base64 of random bytes: LZ4 gains too little
        await nodes.A.Set("small", small);
        await nodes.A.Set("random", random);

        Assert.Equal(0, Wire.Decode(await Raw(redis, nodes, "small")).Flags & 8);
        Same(small, Expect.Some(await nodes.B.TryGet<Doc>("small")));
        Same(random, Expect.Some(await nodes.B.TryGet<Doc>("random")));
    }

    public static TheoryData<string> Corruptions => ["length + 1", "length - 1", "length 2 GB", "block truncated", "block cut to one byte", "block garbage"];

    [Theory]
    [MemberData(nameof(Corruptions))]
    public async Task ACorruptCompressedPayload_IsAMissWithALogLine_AndTheNextWriteReplacesIt(string corruption)
    {
        using var nodes = Start(1);
        var doc = MakeDoc(3, 4, compressible: true);
        var json = JsonSerializer.SerializeToUtf8Bytes(doc);
        var block = new byte[LZ4Codec.MaximumOutputSize(json.Length)];
        block = block[..LZ4Codec.Encode(json, block)];
        var length = json.Length;
        switch (corruption)
        {
            case "length + 1": length++; break;
            case "length - 1": length--; break;
            case "length 2 GB": length = int.MaxValue; break;
            case "block truncated": block = block[..(block.Length / 2)]; break;
            case "block cut to one byte": block = block[..1]; break;
            default: new Random(7).NextBytes(block.AsSpan(1)); break;
        }
        var payload = new byte[4 + block.Length];
        BinaryPrimitives.WriteInt32BigEndian(payload, length);
        block.CopyTo(payload, 4);
        // Stamped in the past (so the cache's own write comes later) by another origin; flag bit 3 set.
        var envelope = Wire.Fresh("", TimeSpan.FromMinutes(5), at: DateTimeOffset.UtcNow.AddSeconds(-10)) with { Flags = 8, Payload = payload };
        var db = (await Admin.Of(redis)).GetDatabase();
        await db.StringSetAsync(nodes.RedisKey("k"), envelope.ToBytes(), TimeSpan.FromMinutes(1));
        var fresh = MakeDoc(4, 1, compressible: true);
        var factory = TestFactory<Doc>.Returning(fresh);

        var result = await Expect.Right(nodes.A.GetOrSet<Doc>("k", factory.Invoke));

        Same(fresh, result);
        Assert.Equal(1, factory.Calls);
        Assert.Equal(1, Interlocked.Read(ref nodes.A.Distributed!.UnreadablePayloads));
        Assert.True(await nodes.Log(0).Logged("compressed payload") || nodes.Log(0).Contains("uncompressed length"),
            $"no log line says the compressed payload is unreadable:\n{nodes.Logs()}");
        // The guard took the corrupt entry for one of ours (its sections are well-formed) but older: the write replaced it.
        var stored = Wire.Decode(await Raw(redis, nodes, "k"));
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(fresh), stored.Payload);
    }

    [Fact]
    public async Task ASerializerWithOnlyTheArrayMembers_StillWorks()
    {
        var serializer = new ArrayOnlySerializer();
        using var nodes = Start(2, b => b.WithSerializer(serializer).WithCompression(threshold: 512));
        var doc = MakeDoc(5, 4, compressible: true);
        await nodes.A.Set("k", doc);

        Same(doc, Expect.Some(await nodes.B.TryGet<Doc>("k")));
        Assert.True(serializer.Serialized > 0 && serializer.Deserialized > 0);
        Assert.Equal(8, Wire.Decode(await Raw(redis, nodes, "k")).Flags & 8);
    }

    [Fact]
    public void TheJsonSerializer_ReadsAMultiSegmentSequence_AndWritesToABufferWriter()
    {
        var serializer = new JsonFusionSerializer();
        var doc = MakeDoc(6, 70, compressible: false);
        var writer = new ArrayBufferWriter<byte>();
        writer.Write("prefix"u8); // the serializer appends
        ((IFusionSerializer)serializer).Serialize(doc, writer);
        var json = writer.WrittenSpan[6..].ToArray();
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(doc), json);

        // Split into segments of 4 KB, the way a pipe hands over more than 64 KB.
        var sequence = Segments(json, 4096);
        Assert.False(sequence.IsSingleSegment);
        Same(doc, ((IFusionSerializer)serializer).Deserialize<Doc>(sequence));
        Same(doc, ((IFusionSerializer)new ArrayOnlySerializer()).Deserialize<Doc>(sequence)); // the default member
    }

    private static ReadOnlySequence<byte> Segments(byte[] bytes, int size)
    {
        Segment? first = null, last = null;
        for (var at = 0; at < bytes.Length; at += size)
        {
            var segment = new Segment(bytes.AsMemory(at, Math.Min(size, bytes.Length - at)), at);
            if (last is null) first = segment; else last.Next = segment;
            last = segment;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public new Segment? Next { set => base.Next = value; }
    }

    /// <summary>A serializer written before the buffer members existed: only the array ones.</summary>
    private sealed class ArrayOnlySerializer : IFusionSerializer
    {
        public int Serialized, Deserialized;

        public byte[] Serialize<T>(T value)
        {
            Interlocked.Increment(ref Serialized);
            return JsonSerializer.SerializeToUtf8Bytes(value);
        }

        public T Deserialize<T>(ReadOnlySpan<byte> bytes)
        {
            Interlocked.Increment(ref Deserialized);
            return JsonSerializer.Deserialize<T>(bytes)!;
        }
    }
}
