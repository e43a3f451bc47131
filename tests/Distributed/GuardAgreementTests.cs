using System.Buffers.Binary;
using Fusion.Core;
using Fusion.Distributed;
using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>
/// SEMANTICS §4: the L2 write guard (Lua, in Redis) accepts exactly what the decoder accepts, or garbage that passes one
/// and not the other blocks a key (the guard refuses every write "older" than an entry nobody can read). Checked on a real
/// Redis over seeded random corruptions of envelopes with tags, validators and compressed payloads: flipped bytes, truncations,
/// edited lengths (the compressed payload's uncompressed length included).
/// </summary>
public sealed class GuardAgreementTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>
{
    private const int Samples = 1500;

    [Fact]
    public async Task TheGuardAndTheDecoder_AcceptTheSameEnvelopes()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FUSION_GUARD_SEED"), out var s) ? s : 20261201;
        var rng = new Random(seed);
        var db = (await Admin.Of(redis)).GetDatabase();
        var now = DateTimeOffset.UtcNow.UtcTicks;
        var latest = now + TimeSpan.FromMinutes(1).Ticks;
        var limit = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(limit, latest);
        var disagreements = new List<string>();
        var (accepted, refused) = (0, 0);

        for (var i = 0; i < Samples; i++)
        {
            var valid = Valid(rng, now);
            var bytes = Corrupt(rng, valid, LengthOffset(valid, latest));
            var key = $"guard:{i}";
            await db.StringSetAsync(key, bytes);
            var guard = (int)await db.ScriptEvaluateAsync(RedisScripts.GuardProbe, [key], [limit]) == 1;
            var decoder = EnvelopeCodec.TryDecode(bytes, latest, out _, out _, out var why);
            if (decoder) accepted++; else refused++;
            if (guard != decoder) disagreements.Add($"guard {guard}, decoder {decoder} ({why}): {Convert.ToHexString(bytes)}");
        }

        log.WriteLine($"seed {seed}: {accepted} accepted, {refused} refused by both or either");
        Assert.True(accepted > Samples / 10 && refused > Samples / 10, $"the corruptions are not varied enough: {accepted} accepted, {refused} refused");
        Assert.True(disagreements.Count == 0, $"seed {seed} (FUSION_GUARD_SEED): {disagreements.Count} disagreements, first:\n{string.Join('\n', disagreements.Take(5))}");
    }

    private static readonly string[] TagPool = ["red", "tenant:7", "é", "k\uD800", "\uDC00", "日本"];

    /// <summary>An envelope as the writer makes it: random tags (lone surrogates included), validator and stale flag.</summary>
    private static byte[] Valid(Random rng, long now)
    {
        var tags = Enumerable.Range(0, rng.Next(4)).Select(_ => TagPool[rng.Next(TagPool.Length)]).Distinct().ToArray();
        var validator = rng.Next(3) switch
        {
            0 => ValidatorModule.none,
            1 => new Validator(rng.Next(2) == 0 ? "\"abc\"" : "W/\"é\"", rng.Next(2) == 0 ? 0 : now),
            _ => new Validator(null, now - rng.Next(1000)),
        };
        var stamp = now - rng.Next(1_000_000);
        var entry = new Entry("v", stamp, rng.Next(1000), stamp + 100, stamp + 1000, Ticks.Never, rng.Next(2) == 0, rng.Next(3),
            EntryMetaModule.ofParts(tags, validator));
        if (rng.Next(10) == 0) return EnvelopeCodec.Tombstone(stamp, 7);
        // A third compressed (flag bit 3: the uncompressed length, then the LZ4 block): a payload LZ4 shrinks, threshold 1.
        return rng.Next(3) == 0 ? EnvelopeCodec.Encode(entry, Compressible, compressionThreshold: 1) : EnvelopeCodec.Encode(entry, "\"v\""u8);
    }

    private static readonly byte[] Compressible = System.Text.Encoding.UTF8.GetBytes("\"" + string.Concat(Enumerable.Repeat("abcdefgh", 16)) + "\"");

    /// <summary>Where the uncompressed length of a compressed envelope is (flag bit 3), or -1.</summary>
    private static int LengthOffset(byte[] valid, long latest) =>
        EnvelopeCodec.TryDecode(valid, latest, out var header, out var payload, out _) && header.UncompressedLength > 0
            ? valid.Length - payload.Length - 4
            : -1;

    private static byte[] Corrupt(Random rng, byte[] bytes, int lengthAt)
    {
        var b = (byte[])bytes.Clone();
        switch (rng.Next(lengthAt < 0 ? 7 : 9))
        {
            case 0: return b; // intact
            case 1: // flip a byte in the sections after the header (tags, validator)
                if (b.Length > 46) b[46 + rng.Next(b.Length - 46)] ^= (byte)(1 << rng.Next(8));
                return b;
            case 2: // a random byte anywhere after the version
                b[1 + rng.Next(b.Length - 1)] = (byte)rng.Next(256);
                return b;
            case 3: return b[..rng.Next(b.Length)]; // truncated
            case 4: // a section length or count made larger or smaller
                if (b.Length > 48) b[46 + rng.Next(Math.Min(8, b.Length - 46))] += (byte)(rng.Next(2) == 0 ? 1 : 255);
                return b;
            case 5: // the flags: a stale, tombstone, validator or compressed bit flipped, or an unknown one
                b[41] ^= (byte)(1 << rng.Next(5));
                return b;
            case 7: // a compressed payload's uncompressed length: zero, negative, off by one, anything
                var length = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(lengthAt));
                BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(lengthAt), rng.Next(5) switch
                {
                    0 => 0,
                    1 => -rng.Next(1, int.MaxValue),
                    2 => length + 1,
                    3 => length - 1,
                    _ => rng.Next(int.MinValue, int.MaxValue),
                });
                return b;
            case 8: // a compressed payload cut around its length: before, inside, just after it, or in the block
                return b[..Math.Min(b.Length, lengthAt + rng.Next(7))];
            default: // an invalid UTF-8 or odd-length UTF-16 byte inside a string section
                if (b.Length > 50) b[48 + rng.Next(b.Length - 48)] = rng.Next(2) == 0 ? (byte)0xC0 : (byte)0xFF;
                return b;
        }
    }
}
