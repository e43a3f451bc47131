using System.Text.Json;
using BenchmarkDotNet.Attributes;
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
/// </summary>
[MemoryDiagnoser]
public class RedisBenchmarks
{
    private const string Key = "product:42";
    private const string RawKey = "raw:product:42";
    private const string ZiggyKey = "ziggy:product:42";
    private static readonly Product Payload = new(42, "Widget, large", 19.99m, ["tools", "garden", "sale"]);
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

        _factoryCalls = 0;
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        Console.WriteLine($"// RedisBenchmarks: factory calls during the run (must be 0): {_factoryCalls}");
        _fusion.Dispose();
        _ziggy.Dispose();
        _ziggyMemory.Dispose();
        _ziggyRedis.Dispose(); // closes the connection it was given, so after every other user of it
        await _connection.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public async Task<Product> Redis_StringGet_Deserialize()
    {
        var value = await _database.StringGetAsync(RawKey);
        return JsonSerializer.Deserialize<Product>((ReadOnlySpan<byte>)(byte[])value!)!;
    }

    [Benchmark]
    public async Task<Product> Fusion_GetOrSet_L2Hit()
    {
        _fusion.Memory.Remove(Key);
        return Value(await _fusion.GetOrSet(Key, Factory));
    }

    [Benchmark]
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
    [Benchmark]
    public ValueTask<Product> FusionCache_GetOrSetAsync_L2Hit()
    {
        _ziggyMemory.Remove(ZiggyKey);
        return _ziggy.GetOrSetAsync<Product>(ZiggyKey, ZiggyFactory);
    }

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
