using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using BitFaster.Caching.Lfu;
using BitFaster.Caching.Lru;
using Fusion;
using LanguageExt;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;

namespace Fusion.Bench;

/// <summary>A hit on a fresh L1 entry through each cache's main API; the bare dictionary is the floor.</summary>
[MemoryDiagnoser]
public class HitBenchmarks
{
    private const string Key = "product:42";
    private readonly ConcurrentDictionary<string, string> _dictionary = new();
    private Fusion.FusionCache _fusion = null!;
    private ZiggyCreatures.Caching.Fusion.FusionCache _ziggy = null!;
    private HybridCache _hybrid = null!;
    private MemoryCache _memory = null!;
    private ConcurrentLru<string, string> _lru = null!;
    private ConcurrentLfu<string, string> _lfu = null!;
    private ServiceProvider _services = null!;
    private static readonly Func<Task<Either<Err, string>>> FusionFactory = static () => Task.FromResult(Either<Err, string>.Right("value"));

    [GlobalSetup]
    public async Task Setup()
    {
        _dictionary[Key] = "value";
        _fusion = new FusionCacheBuilder().WithDuration(TimeSpan.FromHours(1)).Build();
        await _fusion.GetOrSet(Key, FusionFactory);
        _ziggy = new ZiggyCreatures.Caching.Fusion.FusionCache(new FusionCacheOptions { DefaultEntryOptions = new ZiggyCreatures.Caching.Fusion.FusionCacheEntryOptions { Duration = TimeSpan.FromHours(1) } });
        await _ziggy.GetOrSetAsync(Key, _ => Task.FromResult("value"));
        _services = new ServiceCollection().AddHybridCache().Services.BuildServiceProvider();
        _hybrid = _services.GetRequiredService<HybridCache>();
        await _hybrid.GetOrCreateAsync(Key, static _ => ValueTask.FromResult("value"));
        _memory = new MemoryCache(new MemoryCacheOptions());
        _memory.GetOrCreate(Key, static _ => "value");
        _lru = new ConcurrentLru<string, string>(1000);
        _lru.GetOrAdd(Key, static _ => "value");
        _lfu = new ConcurrentLfu<string, string>(1000);
        _lfu.GetOrAdd(Key, static _ => "value");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _fusion.Dispose();
        _ziggy.Dispose();
        _memory.Dispose();
        _services.Dispose();
    }

    [Benchmark(Baseline = true)]
    public string ConcurrentDictionary_TryGetValue() => _dictionary.TryGetValue(Key, out var v) ? v : "";

    [Benchmark]
    public async ValueTask<string> Fusion_GetOrSet()
    {
        var result = await _fusion.GetOrSet(Key, FusionFactory);
        return result.Match(Right: static v => v, Left: static _ => ""); // IfLeft allocates; Match with static lambdas does not
    }

    [Benchmark]
    public ValueTask<string> FusionCache_GetOrSetAsync() => _ziggy.GetOrSetAsync(Key, static _ => Task.FromResult("value"));

    [Benchmark]
    public string FusionCache_GetOrSet() => _ziggy.GetOrSet(Key, static _ => "value");

    [Benchmark]
    public ValueTask<string> HybridCache_GetOrCreateAsync() => _hybrid.GetOrCreateAsync(Key, static _ => ValueTask.FromResult("value"));

    [Benchmark]
    public string? MemoryCache_GetOrCreate() => _memory.GetOrCreate(Key, static _ => "value");

    [Benchmark]
    public string ConcurrentLru_GetOrAdd() => _lru.GetOrAdd(Key, static _ => "value");

    [Benchmark]
    public string ConcurrentLfu_GetOrAdd() => _lfu.GetOrAdd(Key, static _ => "value");
}
