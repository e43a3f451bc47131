using BenchmarkDotNet.Attributes;
using LanguageExt;

namespace Fusion.Bench;

/// <summary>
/// A miss then a set: each operation removes the key and reads it back through the cache, so the
/// factory runs and its value is stored. Factories return a completed, shared result, so the numbers
/// are the caches' own cost of a miss (lookup, single-flight bookkeeping, the write).
/// </summary>
[MemoryDiagnoser]
public class MissBenchmarks
{
    private const string Key = "product:42";
    private static readonly Func<Task<Either<Err, string>>> FusionFactory = static () => Caches.FusionValue;
    private CacheSet _caches = null!;

    [GlobalSetup]
    public void Setup() => _caches = new CacheSet();

    [GlobalCleanup]
    public void Cleanup() => _caches.Dispose();

    [Benchmark(Baseline = true)]
    public async ValueTask<string> FusionCache_RemoveThenGetOrSetAsync()
    {
        _caches.Ziggy.Remove(Key);
        return await _caches.Ziggy.GetOrSetAsync<string>(Key, static (_, _) => Caches.ZiggyValue);
    }

    [Benchmark]
    public async ValueTask<string> Fusion_RemoveThenGetOrSet()
    {
        await _caches.Fusion.Remove(Key);
        var result = await _caches.Fusion.GetOrSet(Key, FusionFactory);
        return result.IsRight ? (string)result : "";
    }

    [Benchmark]
    public async ValueTask<string> HybridCache_RemoveThenGetOrCreateAsync()
    {
        await _caches.Hybrid.RemoveAsync(Key);
        return await _caches.Hybrid.GetOrCreateAsync(Key, static _ => ValueTask.FromResult(Caches.Value));
    }
}
