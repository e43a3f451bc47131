using System.Diagnostics;
using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>
/// Reads through L2 on a node whose L1 does not have the key (SEMANTICS §3 step 3): inside the single flight, with the
/// L2 entry's remaining lifetime, and L2's stale entries as fail-safe fallbacks. Real clock: the times cross Redis.
/// </summary>
public sealed class DistributedReadTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>
{
    private Nodes Start(int count, Func<FusionCacheBuilder, FusionCacheBuilder>? configure = null) =>
        Nodes.Start(redis.Server.ConnectionString(), count, configure ?? (b => b.WithDuration(TimeSpan.FromMinutes(1))), log);

    [Fact]
    public async Task ConcurrentColdCallersOnB_CostOneRedisReadAndNoFactoryCall_WhenAWroteTheKey()
    {
        using var nodes = Start(2);
        await nodes.A.Set("k", "v");
        var factory = TestFactory<string>.Returning("from the factory");
        var readsBefore = await RedisStats.Calls(redis.Server, "get");

        // Redis holds the first read for a moment, so every caller surely joins the flight while it is out.
        await redis.Server.PauseAsync(TimeSpan.FromMilliseconds(300));
        var callers = Enumerable.Range(0, 20).Select(_ => nodes.B.GetOrSet<string>("k", factory.Invoke).AsTask()).ToArray();
        var results = await Task.WhenAll(callers).WaitAsync(Nodes.Bound);

        Assert.All(results, result => Assert.Equal("v", Expect.Right(result)));
        Assert.Equal(0, factory.Calls);
        Assert.Equal(1, await RedisStats.Calls(redis.Server, "get") - readsBefore);
    }

    [Fact]
    public async Task L2Entry_LivesInL1OnlyForItsRemainingLifetime()
    {
        var duration = TimeSpan.FromSeconds(2);
        using var nodes = Start(2, b => b.WithDuration(duration));
        var clock = Stopwatch.StartNew();
        await nodes.A.Set("k", "v");
        var envelope = await (await Admin.Of(redis)).Stored(nodes, "k");
        var factory = TestFactory<string>.Returning("recomputed");
        await Task.Delay(TimeSpan.FromSeconds(1));

        Assert.Equal("v", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke)));

        // B's copy ends when A's value ends (written + 2 s), not a whole Duration after B read it (+ 3 s).
        Assert.True(nodes.B.Memory.TryGet("k", out var copy));
        Assert.Equal(envelope.LogicalExpiry, copy.LogicalExpiry);
        var l1Only = new FusionCacheEntryOptions { SkipDistributedCacheRead = true };
        var untilExpired = duration + TimeSpan.FromMilliseconds(400) - clock.Elapsed;
        if (untilExpired > TimeSpan.Zero) await Task.Delay(untilExpired);
        Assert.Equal("recomputed", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke, l1Only)));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task StaleL2Entry_IsTheFailSafeFallback_OnANodeWithAnEmptyL1()
    {
        using var nodes = Start(1, b => b.WithDuration(TimeSpan.FromMilliseconds(300)).WithFailSafe());
        await nodes.A.Set("k", "old");
        await Task.Delay(TimeSpan.FromMilliseconds(500)); // stale now, in L1 and in L2
        var b = nodes.Add(b => b.WithDuration(TimeSpan.FromMilliseconds(300)).WithFailSafe()); // nothing in its L1
        var failing = TestFactory<string>.Failing(Values.SourceDown);

        Assert.Equal("old", await Expect.Right(b.GetOrSet<string>("k", failing.Invoke)));
        Assert.Equal(1, failing.Calls);
        Expect.Left(await b.GetOrSet<string>("other", failing.Invoke)); // no fallback there: the error
    }

    [Fact]
    public async Task StaleL2Entry_IsNotServed_WithoutFailSafe()
    {
        using var nodes = Start(1, b => b.WithDuration(TimeSpan.FromMinutes(1)).WithFailSafe());
        await nodes.A.Set("k", "old");
        await ClockStep.Pass();
        await nodes.A.Expire("k"); // stale in L2, kept as a fallback
        await ClockStep.Pass(); // on every node's clock
        var b = nodes.Add();
        var failing = TestFactory<string>.Failing(Values.SourceDown);

        Assert.Equal(Values.SourceDown, await Expect.Left(b.GetOrSet<string>("k", failing.Invoke, new FusionCacheEntryOptions { IsFailSafeEnabled = false })));
        Assert.Equal("old", await Expect.Right(b.GetOrSet<string>("k", failing.Invoke, new FusionCacheEntryOptions { IsFailSafeEnabled = true })));
    }

    [Fact]
    public async Task ValueOfAnotherTypeInL2_IsAMissWithALogLine()
    {
        using var nodes = Start(2);
        await nodes.A.Set("k", "text");
        await ClockStep.Pass(); // B's write comes later on every clock
        var factory = TestFactory<int>.Returning(42);

        Assert.Equal(42, await Expect.Right(nodes.B.GetOrSet<int>("k", factory.Invoke)));

        Assert.Equal(1, factory.Calls);
        Assert.Equal(1, Interlocked.Read(ref nodes.B.Distributed!.UnreadablePayloads));
        Assert.True(await nodes.Log(1).Logged("Int32"), "no log line names the type"); // Replies.TypeName: the full name, "System.Int32"
        var stored = await (await Admin.Of(redis)).Stored(nodes, "k");
        Assert.Equal("42", stored.PayloadText); // the factory's value replaced it
    }

    [Fact]
    public async Task ASerializerThatReadsBackNull_MakesTheL2EntryUnreadable_NotACrash()
    {
        // JSON "null" read by a lenient serializer: the cache holds no null, so the entry is a miss.
        using var nodes = Start(1, b => b.WithDuration(TimeSpan.FromMinutes(1)).WithSerializer(new NullReadingSerializer()));
        var db = (await Admin.Of(redis)).GetDatabase();
        var past = DateTimeOffset.UtcNow.AddMinutes(-1);
        await db.StringSetAsync(nodes.RedisKey("k"), Wire.Fresh("null", TimeSpan.FromMinutes(5), at: past).ToBytes(), TimeSpan.FromMinutes(1));
        var factory = TestFactory<string>.Returning("fresh");

        Assert.Equal("fresh", await Expect.Right(nodes.A.GetOrSet<string>("k", factory.Invoke)));

        Assert.Equal(1, factory.Calls);
        Assert.Equal(1, Interlocked.Read(ref nodes.A.Distributed!.UnreadablePayloads));
        Assert.True(await nodes.Log(0).Logged("null"), "no log line says the serializer read a null");
    }

    private sealed class NullReadingSerializer : IFusionSerializer
    {
        public byte[] Serialize<T>(T value) => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value);

        public T Deserialize<T>(ReadOnlySpan<byte> bytes) => System.Text.Json.JsonSerializer.Deserialize<T>(bytes)!;
    }

    /// <summary>Within the clock-skew bound, but after every write a test makes.</summary>
    private static DateTimeOffset Later => DateTimeOffset.UtcNow.AddSeconds(30);

    /// <summary>Payloads that cannot be read. Those with a timestamp carry one well in the past (but the last):
    /// the factory's write is newer.</summary>
    public static TheoryData<string, byte[]> Unreadable()
    {
        var past = DateTimeOffset.UtcNow.AddMinutes(-1);
        return new()
        {
            { "shorter than the header", "garbage"u8.ToArray() },
            { "text", "this is not an envelope, it is a plain string some other program wrote"u8.ToArray() },
            { "all ones", Enumerable.Repeat((byte)0xFF, 64).ToArray() },
            { "another format version", Wire.Fresh("\"v\"", TimeSpan.FromMinutes(5), version: 1, at: past).ToBytes() },
            { "logical expiry after physical", (Wire.Fresh("\"v\"", TimeSpan.FromMinutes(5), at: past) with { PhysicalExpiry = 1 }).ToBytes() },
            { "unknown flags", (Wire.Fresh("\"v\"", TimeSpan.FromMinutes(5), at: past) with { Flags = 0x80 }).ToBytes() },
            { "payload not JSON", Wire.Fresh("{not json", TimeSpan.FromMinutes(5), at: past).ToBytes() },
            { "another format version, written later", Wire.Fresh("\"v\"", TimeSpan.FromMinutes(5), version: 1, at: DateTimeOffset.UtcNow.AddDays(1)).ToBytes() },
            // The current version byte, stamped later than any write to come: the guard must ignore exactly what the
            // decoder refuses, or the key is blocked for good (issue: garbage with a valid version byte).
            { "stamped beyond the clock-skew bound", Wire.Fresh("\"v\"", TimeSpan.FromMinutes(5), at: DateTimeOffset.UtcNow.AddYears(170)).ToBytes() },
            { "stamped an hour ahead", Wire.Fresh("\"v\"", TimeSpan.FromMinutes(5), at: DateTimeOffset.UtcNow.AddHours(1)).ToBytes() },
            { "logical expiry after physical, stamped later", (Wire.Fresh("\"v\"", TimeSpan.FromMinutes(5), at: Later) with { PhysicalExpiry = 1 }).ToBytes() },
            { "unknown flags, stamped later", (Wire.Fresh("\"v\"", TimeSpan.FromMinutes(5), at: Later) with { Flags = 0x80 }).ToBytes() },
            { "negative fail-safe cycles, stamped later", (Wire.Fresh("\"v\"", TimeSpan.FromMinutes(5), at: Later) with { FailSafeCycles = -1 }).ToBytes() },
            { "negative origin, stamped later", (Wire.Fresh("\"v\"", TimeSpan.FromMinutes(5), at: Later) with { Origin = -5 }).ToBytes() },
            { "only the header of the current version, all ones after", [Wire.Version, .. Enumerable.Repeat((byte)0xFF, 60)] },
            // The validator section (conditional refresh) must be there when its flag is, and decode.
            { "the validator flag without a validator, stamped later", (Wire.Fresh("", TimeSpan.FromMinutes(5), at: Later) with { Flags = 4 }).ToBytes() },
            { "an ETag that is not UTF-8, stamped later", (Wire.Fresh("\"v\"", TimeSpan.FromMinutes(5), at: Later) with { Flags = 4, Validator = ([0xC3, 0x28], 0) }).ToBytes() },
            { "an empty validator, stamped later", (Wire.Fresh("\"v\"", TimeSpan.FromMinutes(5), at: Later) with { Flags = 4, Validator = ([], 0) }).ToBytes() },
        };
    }

    [Theory]
    [MemberData(nameof(Unreadable))]
    public async Task UnreadablePayloadInL2_IsAMiss_AndTheNextWriteReplacesIt(string what, byte[] payload)
    {
        using var nodes = Start(1);
        var db = (await Admin.Of(redis)).GetDatabase();
        await db.StringSetAsync(nodes.RedisKey("k"), payload, TimeSpan.FromMinutes(1));
        var factory = TestFactory<string>.Returning("fresh");

        Assert.Equal("fresh", await Expect.Right(nodes.A.GetOrSet<string>("k", factory.Invoke)));

        Assert.Equal(1, factory.Calls);
        Assert.Equal(1, Interlocked.Read(ref nodes.A.Distributed!.UnreadablePayloads));
        Assert.True(await nodes.Log(0).Logged("unreadable"), $"{what}: no log line");
        var stored = (byte[]?)await db.StringGetAsync(nodes.RedisKey("k"));
        Assert.True(stored is { Length: >= 46 } && stored[0] == Wire.Version && Wire.Decode(stored).PayloadText == "\"fresh\"",
            $"{what}: the factory's write did not replace the unreadable payload; L2 holds {Convert.ToHexString(stored ?? [])}");
        Assert.Equal("fresh", await Expect.Right(nodes.Add().GetOrSet<string>("k", factory.Invoke))); // another node reads it
    }

    [Fact]
    public async Task AnEntrysTags_TravelThroughL2()
    {
        using var nodes = Start(2);
        await nodes.A.Set("k", "v", new FusionCacheEntryOptions { Tags = ["red", "k\uD800"] });
        var stored = await (await Admin.Of(redis)).Stored(nodes, "k");
        Assert.Equal(2, stored.Tags.Length);
        Assert.Equal("red", stored.Tags[0]);

        // B reads the entry from L2 with its tags: its own RemoveByTag of one of them hides it.
        Assert.Equal("v", await Expect.Right(nodes.B.GetOrSet<string>("k", TestFactory<string>.Returning("x").Invoke)));
        await nodes.B.RemoveByTag("red");
        Assert.True((await nodes.B.TryGet<string>("k")).IsNone);
    }
}
