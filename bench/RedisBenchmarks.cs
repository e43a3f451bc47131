using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Fusion.Tests.Redis.Support;
using LanguageExt;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

namespace Fusion.Bench;

/// <summary>The value the Redis benchmarks store: a small object, about 100 bytes of JSON.</summary>
public sealed record Product(int Id, string Name, decimal Price, string[] Tags);

/// <summary>
/// An L1 miss served by L2 (Redis), against a raw StackExchange.Redis <c>GET</c> + System.Text.Json
/// deserialize of the same payload (the floor). A real <c>redis-server</c> on loopback, started here.
/// Fusion's L1 entry is removed before each read (<c>cache.Memory.Remove</c>, internal), so every
/// read goes to Redis, as on a node that has not seen the key; the removal is part of the measured
/// time (tens of ns against a round trip of tens of µs).
/// <para>
/// ZiggyCreatures FusionCache (2.9) runs the same read over its Redis L2
/// (<c>Microsoft.Extensions.Caching.StackExchangeRedis</c>' <c>RedisCache</c>, System.Text.Json serializer): its
/// L1 is a <c>MemoryCache</c> owned here, from which the key is removed before each read, the same treatment
/// as Fusion's row. All rows share one connection.
/// </para>
/// <para>
/// Three groups (categories), each with its floor as baseline: <c>L2Hit</c> (the read above); <c>Set</c>, a write
/// through to Redis against a raw <c>SET</c> (with the same time to live) of <c>JsonSerializer.SerializeToUtf8Bytes</c>
/// (Fusion's <c>Set</c> awaits its L2 write, the guarded Lua script; the backplane notice goes in the background, its
/// default; FusionCache's <c>SetAsync</c> awaits its <c>RedisCache</c> write); <c>Doc16KB</c>, a compressible 16 KB JSON
/// document read (L1 emptied) and written by a node without compression and one with <c>WithCompression(1024)</c>
/// (LZ4). The "L2 bytes" column is the size of the value Redis holds for the row's key (<c>STRLEN</c>): what each read
/// carries over the wire and each write sends, besides the command.
/// </para>
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[Config(typeof(RedisBenchmarksConfig))]
public class RedisBenchmarks
{
    private const string Key = "product:42";
    private const string RawKey = "raw:product:42";
    private const string ZiggyKey = "ziggy:product:42";
    private const string SetKey = "product:set";
    private const string RawSetKey = "raw:product:set";
    private const string ZiggySetKey = "ziggy:product:set";
    private const string DocKey = "doc:16k";
    private const string RawDocKey = "raw:doc:16k";
    private static readonly Product Payload = new(42, "Widget, large", 19.99m, ["tools", "garden", "sale"]);
    /// <summary>A compressible JSON document of about 16 KB: an order with 150 lines of similar products.</summary>
    private static readonly Document Doc16KB = new(7, "order 7", [.. Enumerable.Range(0, 150).Select(i =>
        new Product(i, $"Widget, model {i % 12}, colour {(i % 3 == 0 ? "red" : "blue")}", 10m + i % 7, ["tools", "garden", i % 2 == 0 ? "sale" : "new"]))]);
    private static readonly Func<Task<Either<Err, Document>>> DocFactory = static () =>
    {
        Interlocked.Increment(ref _factoryCalls);
        return Task.FromResult(Either<Err, Document>.Right(Doc16KB));
    };
    private static int _factoryCalls;
    // A factory that must never run: every read is an L2 hit. Counted, and reported at cleanup.
    private static readonly Func<Task<Either<Err, Product>>> Factory = static () =>
    {
        Interlocked.Increment(ref _factoryCalls);
        return Task.FromResult(Either<Err, Product>.Right(Payload));
    };
    // The same for FusionCache, on the same counter; its (context, token) overload, created once.
    private static readonly Func<FusionCacheFactoryExecutionContext<Product>, CancellationToken, Task<Product>> ZiggyFactory = static (_, _) =>
    {
        Interlocked.Increment(ref _factoryCalls);
        return Task.FromResult(Payload);
    };

    private RedisServer _server = null!;
    private ConnectionMultiplexer _connection = null!;
    private IDatabase _database = null!;
    private Fusion.FusionCache _fusion = null!;
    private Fusion.FusionCache _fusionLz4 = null!;
    private MemoryCache _ziggyMemory = null!;
    private RedisCache _ziggyRedis = null!;
    private ZiggyCreatures.Caching.Fusion.FusionCache _ziggy = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _server = await RedisServer.StartAsync();
        _connection = await ConnectionMultiplexer.ConnectAsync(_server.ConnectionString());
        _database = _connection.GetDatabase();
        await _database.StringSetAsync(RawKey, JsonSerializer.SerializeToUtf8Bytes(Payload));
        _fusion = new FusionCacheBuilder().WithDuration(Caches.Duration).WithRedis(_connection, "bench").Build();
        await Fusion.Bench.Redis.WaitUntilInL2(_fusion, Key, Payload);
        await _database.StringSetAsync(RawDocKey, JsonSerializer.SerializeToUtf8Bytes(Doc16KB));
        await Fusion.Bench.Redis.WaitUntilInL2(_fusion, DocKey, Doc16KB);
        _fusionLz4 = new FusionCacheBuilder().WithDuration(Caches.Duration).WithRedis(_connection, "benchlz4").WithCompression(threshold: 1024).Build();
        await Fusion.Bench.Redis.WaitUntilInL2(_fusionLz4, DocKey, Doc16KB);
        await _fusion.Set(SetKey, Payload);
        await _database.StringSetAsync(RawSetKey, JsonSerializer.SerializeToUtf8Bytes(Payload), Caches.Duration);

        // FusionCache over a MemoryCache of ours (so the benchmark can empty its L1) and RedisCache on the
        // shared connection (ConnectionMultiplexerFactory: RedisCache opens none of its own).
        _ziggyMemory = Caches.Memory();
        _ziggyRedis = new RedisCache(new RedisCacheOptions
        {
            ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(_connection),
        });
        _ziggy = new ZiggyCreatures.Caching.Fusion.FusionCache(
            new FusionCacheOptions { DefaultEntryOptions = new ZiggyCreatures.Caching.Fusion.FusionCacheEntryOptions { Duration = Caches.Duration } },
            _ziggyMemory);
        _ziggy.SetupDistributedCache(_ziggyRedis, new FusionCacheSystemTextJsonSerializer());
        await ZiggyInL2();
        await _ziggy.SetAsync(ZiggySetKey, Payload);
        await RecordStoredBytes();

        _factoryCalls = 0;
    }

    /// <summary>The "L2 bytes" column: the length of what Redis holds for each row's key.</summary>
    private async Task RecordStoredBytes()
    {
        var server = _connection.GetServer(_server.Endpoint);
        async Task<long> Length(string pattern)
        {
            await foreach (var key in server.KeysAsync(pattern: pattern)) return await _database.StringLengthAsync(key);
            return -1; // FusionCache's RedisCache stores a hash: STRLEN does not apply
        }
        async Task<string> HashValueLength(string pattern)
        {
            await foreach (var key in server.KeysAsync(pattern: pattern))
                return ((byte[]?)await _database.HashGetAsync(key, "data"))?.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?";
            return "?";
        }
        var small = (await Length("bench:v2:" + Key)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var doc = (await Length("bench:v2:" + DocKey)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var docLz4 = (await Length("benchlz4:v2:" + DocKey)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var raw = (await Length(RawKey)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var rawDoc = (await Length(RawDocKey)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var ziggy = await HashValueLength("*" + ZiggyKey);
        foreach (var (method, bytes) in new[]
        {
            (nameof(Redis_StringGet_Deserialize), raw), (nameof(Fusion_GetOrSet_L2Hit), small), (nameof(Fusion_TryGet_L2Hit), small),
            (nameof(FusionCache_GetOrSetAsync_L2Hit), ziggy), (nameof(Redis_StringSet_Serialize), raw), (nameof(Fusion_Set), small),
            (nameof(FusionCache_SetAsync), ziggy), (nameof(Redis_StringGet_Deserialize_16KB), rawDoc), (nameof(Fusion_TryGet_L2Hit_16KB), doc),
            (nameof(Fusion_TryGet_L2Hit_16KB_LZ4), docLz4), (nameof(Redis_StringSet_Serialize_16KB), rawDoc), (nameof(Fusion_Set_16KB), doc),
            (nameof(Fusion_Set_16KB_LZ4), docLz4),
        })
            Recorded.Write(method, bytes);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        Console.WriteLine($"// RedisBenchmarks: factory calls during the run (must be 0): {_factoryCalls}");
        _fusion.Dispose();
        _fusionLz4.Dispose();
        _ziggy.Dispose();
        _ziggyMemory.Dispose();
        _ziggyRedis.Dispose(); // closes the connection it was given, so after every other user of it
        await _connection.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Benchmark(Baseline = true), BenchmarkCategory("L2Hit")]
    public async Task<Product> Redis_StringGet_Deserialize()
    {
        var value = await _database.StringGetAsync(RawKey);
        return JsonSerializer.Deserialize<Product>((ReadOnlySpan<byte>)(byte[])value!)!;
    }

    [Benchmark, BenchmarkCategory("L2Hit")]
    public async Task<Product> Fusion_GetOrSet_L2Hit()
    {
        _fusion.Memory.Remove(Key);
        return Value(await _fusion.GetOrSet(Key, Factory));
    }

    [Benchmark, BenchmarkCategory("L2Hit")]
    public async Task<Product> Fusion_TryGet_L2Hit()
    {
        _fusion.Memory.Remove(Key);
        return (await _fusion.TryGet<Product>(Key)).Match(Some: static v => v, None: static () => throw new InvalidOperationException("L2 miss"));
    }

    /// <summary>
    /// FusionCache's row, measured as Fusion's <c>GetOrSet</c> row: the key is removed from FusionCache's L1
    /// (the <c>MemoryCache</c> it was given, whose keys are FusionCache's keys as no key prefix is set), then
    /// <c>GetOrSetAsync</c> misses L1, reads and deserializes the entry from Redis and writes it back into
    /// L1, as Fusion does. Removing the L1 copy is chosen over the entry options that skip the memory cache
    /// (<c>SkipMemoryCacheRead</c>/<c>Write</c>) because those would also skip the L1 write that Fusion's read
    /// pays, and would not be how a node that has not seen the key reads it. <c>_ziggy.RemoveAsync</c> is no
    /// option either: it deletes the Redis copy too. The removal is part of the measured time, as in
    /// Fusion's row.
    /// </summary>
    [Benchmark, BenchmarkCategory("L2Hit")]
    public ValueTask<Product> FusionCache_GetOrSetAsync_L2Hit()
    {
        _ziggyMemory.Remove(ZiggyKey);
        return _ziggy.GetOrSetAsync<Product>(ZiggyKey, ZiggyFactory);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Set")]
    public Task<bool> Redis_StringSet_Serialize() =>
        _database.StringSetAsync(RawSetKey, JsonSerializer.SerializeToUtf8Bytes(Payload), Caches.Duration);

    /// <summary>L1, then the guarded L2 write (awaited); the notice to other nodes goes in the background (the default).</summary>
    [Benchmark, BenchmarkCategory("Set")]
    public ValueTask Fusion_Set() => _fusion.Set(SetKey, Payload);

    [Benchmark, BenchmarkCategory("Set")]
    public ValueTask FusionCache_SetAsync() => _ziggy.SetAsync(ZiggySetKey, Payload);

    [Benchmark(Baseline = true), BenchmarkCategory("Doc16KB")]
    public async Task<Document> Redis_StringGet_Deserialize_16KB()
    {
        using var lease = await _database.StringGetLeaseAsync(RawDocKey);
        return JsonSerializer.Deserialize<Document>(lease!.Span)!;
    }

    [Benchmark, BenchmarkCategory("Doc16KB")]
    public async Task<Document> Fusion_TryGet_L2Hit_16KB()
    {
        _fusion.Memory.Remove(DocKey);
        return (await _fusion.TryGet<Document>(DocKey)).Match(Some: static v => v, None: static () => throw new InvalidOperationException("L2 miss"));
    }

    [Benchmark, BenchmarkCategory("Doc16KB")]
    public async Task<Document> Fusion_TryGet_L2Hit_16KB_LZ4()
    {
        _fusionLz4.Memory.Remove(DocKey);
        return (await _fusionLz4.TryGet<Document>(DocKey)).Match(Some: static v => v, None: static () => throw new InvalidOperationException("L2 miss"));
    }

    [Benchmark, BenchmarkCategory("Doc16KB")]
    public Task<bool> Redis_StringSet_Serialize_16KB() =>
        _database.StringSetAsync(RawDocKey, JsonSerializer.SerializeToUtf8Bytes(Doc16KB), Caches.Duration);

    [Benchmark, BenchmarkCategory("Doc16KB")]
    public ValueTask Fusion_Set_16KB() => _fusion.Set(DocKey, Doc16KB);

    [Benchmark, BenchmarkCategory("Doc16KB")]
    public ValueTask Fusion_Set_16KB_LZ4() => _fusionLz4.Set(DocKey, Doc16KB);

    /// <summary>
    /// Writes the value through FusionCache and checks what the benchmark relies on: Redis holds it, FusionCache's
    /// L1 entry is under <see cref="ZiggyKey"/> in <see cref="_ziggyMemory"/> (so removing that key empties
    /// L1), and a read after that removal is served by Redis (its keyspace hits go up) and fills L1 again.
    /// FusionCache's first read also fetches its <c>Clear()</c> markers from Redis (two more <c>HMGET</c>s) and keeps
    /// them in L1 for an hour (<c>TagsDefaultEntryOptions</c>), so that read pays for them here and each measured
    /// read is one <c>HMGET</c>, as Redis' command statistics showed when this was written.
    /// </summary>
    private async Task ZiggyInL2()
    {
        // Any error from Redis is thrown here instead of being logged and swallowed.
        var strict = new ZiggyCreatures.Caching.Fusion.FusionCacheEntryOptions { Duration = Caches.Duration, ReThrowDistributedCacheExceptions = true };
        await _ziggy.SetAsync(ZiggyKey, Payload, strict);
        var server = _connection.GetServer(_server.Endpoint);
        var stored = new List<RedisKey>();
        await foreach (var key in server.KeysAsync(pattern: "*" + ZiggyKey)) stored.Add(key);
        if (stored.Count != 1) throw new InvalidOperationException($"FusionCache's entry is not in Redis: {stored.Count} keys match *{ZiggyKey}");
        if (!_ziggyMemory.TryGetValue(ZiggyKey, out _)) throw new InvalidOperationException($"FusionCache's L1 entry is not under {ZiggyKey}");

        _ziggyMemory.Remove(ZiggyKey);
        var hitsBefore = await KeyspaceHits(server);
        var read = await _ziggy.TryGetAsync<Product>(ZiggyKey, strict);
        var hitsAfter = await KeyspaceHits(server);
        if (!read.HasValue || read.Value.Id != Payload.Id || read.Value.Name != Payload.Name || read.Value.Price != Payload.Price || !read.Value.Tags.SequenceEqual(Payload.Tags))
            throw new InvalidOperationException($"FusionCache did not read its entry back from Redis ({ZiggyKey})");
        if (hitsAfter <= hitsBefore) throw new InvalidOperationException("FusionCache's read with L1 emptied did not reach Redis");
        if (!_ziggyMemory.TryGetValue(ZiggyKey, out _)) throw new InvalidOperationException("FusionCache's read from Redis did not fill L1 again");
    }

    private static async Task<long> KeyspaceHits(IServer server)
    {
        var stats = await server.InfoAsync("stats");
        var hits = stats.SelectMany(static group => group).First(static pair => pair.Key == "keyspace_hits").Value;
        return long.Parse(hits, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static Product Value(Either<Err, Product> result) =>
        result.Match(Right: static v => v, Left: static e => throw new InvalidOperationException($"not an L2 hit: {e}"));
}

/// <summary>The compressible document of the <c>Doc16KB</c> rows: an order of many similar products.</summary>
public sealed record Document(int Id, string Title, Product[] Lines);

/// <summary>RedisBenchmarks' "L2 bytes" column (what Redis holds for the row's key).</summary>
internal sealed class RedisBenchmarksConfig : ManualConfig
{
    public RedisBenchmarksConfig() => AddColumn(CustomColumn.Recorded("L2 bytes", "Length of the value Redis holds for the row's key (STRLEN; FusionCache: its hash's data field)"));
}

/// <summary>Helpers shared by the Redis benchmark and the propagation mode.</summary>
internal static class Redis
{
    /// <summary>Writes <paramref name="value"/> through <paramref name="cache"/> until L2 holds it (the cache
    /// connects in the background, and a write before that only reaches L1), checked by a read with L1 emptied.</summary>
    public static async Task WaitUntilInL2<T>(Fusion.FusionCache cache, string key, T value)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            await cache.Set(key, value);
            cache.Memory.Remove(key);
            if ((await cache.TryGet<T>(key)).IsSome) return; // a fresh server: what L2 holds is this write
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the cache did not reach Redis within 10 s ({key})");
            await Task.Delay(20);
        }
    }
}
