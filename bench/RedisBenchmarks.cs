using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Fusion.Tests.Redis.Support;
using LanguageExt;
using StackExchange.Redis;

namespace Fusion.Bench;

/// <summary>The value the Redis benchmarks store: a small object, about 100 bytes of JSON.</summary>
public sealed record Product(int Id, string Name, decimal Price, string[] Tags);

/// <summary>
/// An L1 miss served by L2 (Redis), against a raw StackExchange.Redis <c>GET</c> + System.Text.Json
/// deserialize of the same payload (the floor). A real <c>redis-server</c> on loopback, started here.
/// Fusion's L1 entry is removed before each read (<c>cache.Memory.Remove</c>, internal), so every
/// read goes to Redis, as on a node that has not seen the key; the removal is part of the measured
/// time (tens of ns against a round trip of tens of µs). Both sides share one connection.
/// </summary>
[MemoryDiagnoser]
public class RedisBenchmarks
{
    private const string Key = "product:42";
    private const string RawKey = "raw:product:42";
    private static readonly Product Payload = new(42, "Widget, large", 19.99m, ["tools", "garden", "sale"]);
    private static int _factoryCalls;
    // A factory that must never run: every read is an L2 hit. Counted, and reported at cleanup.
    private static readonly Func<Task<Either<Err, Product>>> Factory = static () =>
    {
        Interlocked.Increment(ref _factoryCalls);
        return Task.FromResult(Either<Err, Product>.Right(Payload));
    };

    private RedisServer _server = null!;
    private ConnectionMultiplexer _connection = null!;
    private IDatabase _database = null!;
    private Fusion.FusionCache _fusion = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _server = await RedisServer.StartAsync();
        _connection = await ConnectionMultiplexer.ConnectAsync(_server.ConnectionString());
        _database = _connection.GetDatabase();
        await _database.StringSetAsync(RawKey, JsonSerializer.SerializeToUtf8Bytes(Payload));
        _fusion = new FusionCacheBuilder().WithDuration(Caches.Duration).WithRedis(_connection, "bench").Build();
        await Fusion.Bench.Redis.WaitUntilInL2(_fusion, Key, Payload);
        _factoryCalls = 0;
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        Console.WriteLine($"// RedisBenchmarks: factory calls during the run (must be 0): {_factoryCalls}");
        _fusion.Dispose();
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
