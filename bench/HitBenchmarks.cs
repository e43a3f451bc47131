using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using BitFaster.Caching.Lfu;
using BitFaster.Caching.Lru;
using LanguageExt;
using Microsoft.Extensions.Caching.Memory;

namespace Fusion.Bench;

/// <summary>A hit on a fresh L1 entry through each cache's main API; the bare dictionary is the floor.</summary>
[MemoryDiagnoser]
public class HitBenchmarks
{
    private const string Key = "product:42";
    private const string TaggedKey = "product:43";
    // A tagged entry, one of its tags invalidated before it was written: the hit looks the tag up and compares.
    private static readonly FusionCacheEntryOptions Tagged = new() { Tags = ["products", "category:7"] };
    private static readonly Func<Task<Either<Err, string>>> FusionFactory = static () => Caches.FusionValue;
    private readonly ConcurrentDictionary<string, string> _dictionary = new();
    private CacheSet _caches = null!;
    // The caches again as fields of this class, so a measured call loads one field, as the others do.
    private Fusion.FusionCache _fusion = null!;
    private ZiggyCreatures.Caching.Fusion.FusionCache _ziggy = null!;
    private Microsoft.Extensions.Caching.Hybrid.HybridCache _hybrid = null!;
    private MemoryCache _memory = null!;
    private ConcurrentLru<string, string> _lru = null!;
    private ConcurrentLfu<string, string> _lfu = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _dictionary[Key] = Caches.Value;
        _caches = new CacheSet();
        (_fusion, _ziggy, _hybrid) = (_caches.Fusion, _caches.Ziggy, _caches.Hybrid);
        await _caches.Fusion.GetOrSet(Key, FusionFactory);
        await _caches.Fusion.RemoveByTag("category:7");
        await _caches.Fusion.GetOrSet(TaggedKey, FusionFactory, Tagged);
        await _caches.Ziggy.GetOrSetAsync<string>(Key, static (_, _) => Caches.ZiggyValue);
        await _caches.Hybrid.GetOrCreateAsync(Key, static _ => ValueTask.FromResult(Caches.Value));
        _memory = Caches.Memory();
        _memory.GetOrCreate(Key, static _ => Caches.Value);
        _lru = new ConcurrentLru<string, string>(1000);
        _lru.GetOrAdd(Key, static _ => Caches.Value);
        _lfu = new ConcurrentLfu<string, string>(1000);
        _lfu.GetOrAdd(Key, static _ => Caches.Value);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _caches.Dispose();
        _memory.Dispose();
    }

    [Benchmark(Baseline = true)]
    public string ConcurrentDictionary_TryGetValue() => _dictionary.TryGetValue(Key, out var v) ? v : "";

    // Like the other async APIs here, the ValueTask goes back to BenchmarkDotNet as it is: an async wrapper
    // would add its own state machine (~15-30 ns on the reference machine) that the others do not pay.
    [Benchmark]
    public ValueTask<string> Fusion_GetOrSet()
    {
        var pending = _fusion.GetOrSet(Key, FusionFactory);
        return pending.IsCompletedSuccessfully ? new(Value(pending.Result)) : Slow(pending);

        static async ValueTask<string> Slow(ValueTask<Either<Err, string>> pending) => Value(await pending);
    }

    /// <summary>The hit of an entry with two tags, one of them invalidated (before the write): the invalidations are looked up.</summary>
    [Benchmark]
    public ValueTask<string> Fusion_GetOrSet_Tagged()
    {
        var pending = _fusion.GetOrSet(TaggedKey, FusionFactory, Tagged);
        return pending.IsCompletedSuccessfully ? new(Value(pending.Result)) : Slow(pending);

        static async ValueTask<string> Slow(ValueTask<Either<Err, string>> pending) => Value(await pending);
    }

    [Benchmark]
    public ValueTask<string> FusionCache_GetOrSetAsync() => _ziggy.GetOrSetAsync<string>(Key, static (_, _) => Caches.ZiggyValue);

    [Benchmark]
    public string FusionCache_GetOrSet() => _ziggy.GetOrSet<string>(Key, static (_, _) => Caches.Value);

    [Benchmark]
    public ValueTask<string> HybridCache_GetOrCreateAsync() => _hybrid.GetOrCreateAsync(Key, static _ => ValueTask.FromResult(Caches.Value));

    [Benchmark]
    public string? MemoryCache_GetOrCreate() => _memory.GetOrCreate(Key, static _ => Caches.Value);

    [Benchmark]
    public string ConcurrentLru_GetOrAdd() => _lru.GetOrAdd(Key, static _ => Caches.Value);

    [Benchmark]
    public string ConcurrentLfu_GetOrAdd() => _lfu.GetOrAdd(Key, static _ => Caches.Value);

    // IfLeft allocates; Match with static lambdas does not.
    private static string Value(Either<Err, string> result) => result.IsRight ? (string)result : "";
}
