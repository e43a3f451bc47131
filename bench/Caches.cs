using BitFaster.Caching.Lfu;
using BitFaster.Caching.Scheduler;
using LanguageExt;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;

namespace Fusion.Bench;

/// <summary>
/// Builds every cache the suite compares, configured alike: the same value, a one-hour lifetime (no
/// entry expires during a run) and, where a benchmark bounds it, the same capacity in entries.
/// </summary>
internal static class Caches
{
    /// <summary>The value every factory produces.</summary>
    public const string Value = "value";

    /// <summary>Long enough that nothing expires while a benchmark runs.</summary>
    public static readonly TimeSpan Duration = TimeSpan.FromHours(1);

    /// <summary>A completed factory result, shared so that a factory run allocates no task of its own.</summary>
    public static readonly Task<Either<Err, string>> FusionValue = Task.FromResult(Either<Err, string>.Right(Value));

    /// <summary>The same for ZiggyCreatures FusionCache's async factory.</summary>
    public static readonly Task<string> ZiggyValue = Task.FromResult(Value);

    public static Fusion.FusionCache Fusion(int capacity = FusionCacheBuilder.DefaultCapacity) =>
        new FusionCacheBuilder().WithCapacity(capacity).WithDuration(Duration).Build();

    /// <summary>ZiggyCreatures FusionCache over its own MemoryCache, bounded to <paramref name="capacity"/>
    /// entries (each of size 1) when it is given.</summary>
    public static ZiggyCreatures.Caching.Fusion.FusionCache Ziggy(int? capacity = null)
    {
        var options = new FusionCacheOptions
        {
            DefaultEntryOptions = new ZiggyCreatures.Caching.Fusion.FusionCacheEntryOptions { Duration = Duration, Size = 1 },
        };
        return new ZiggyCreatures.Caching.Fusion.FusionCache(options, Memory(capacity));
    }

    /// <summary>HybridCache (L1 only), bounded to <paramref name="capacity"/> entries when it is given.
    /// HybridCache sizes a string entry by its length, so the limit is capacity × the value's length.</summary>
    public static HybridCache Hybrid(out ServiceProvider services, int? capacity = null)
    {
        var collection = new ServiceCollection();
        collection.AddMemoryCache(o => o.SizeLimit = capacity * Value.Length);
        collection.AddHybridCache(o => o.DefaultEntryOptions = new HybridCacheEntryOptions { Expiration = Duration, LocalCacheExpiration = Duration });
        services = collection.BuildServiceProvider();
        return services.GetRequiredService<HybridCache>();
    }

    /// <summary>A MemoryCache, bounded to <paramref name="capacity"/> entries when it is given
    /// (every entry must then be given a size; the suite uses 1).</summary>
    public static MemoryCache Memory(int? capacity = null) => new(new MemoryCacheOptions { SizeLimit = capacity });

    /// <summary>BitFaster's ConcurrentLfu with maintenance on the calling thread, as Fusion's L1 runs it:
    /// replays are then deterministic for a given process.</summary>
    public static ConcurrentLfu<string, string> Lfu(int capacity) =>
        new(Environment.ProcessorCount, capacity, new ForegroundScheduler(), StringComparer.Ordinal);

    /// <summary>The result of a call that may not have completed synchronously (a miss that joined another
    /// thread's flight), waited for on the calling thread.</summary>
    public static T Wait<T>(ValueTask<T> pending) => pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
}

/// <summary>The three read-through caches most classes compare, built alike and disposed together.</summary>
internal sealed class CacheSet : IDisposable
{
    private readonly ServiceProvider _services;

    public CacheSet()
    {
        Fusion = Caches.Fusion();
        Ziggy = Caches.Ziggy();
        Hybrid = Caches.Hybrid(out _services);
    }

    public Fusion.FusionCache Fusion { get; }
    public ZiggyCreatures.Caching.Fusion.FusionCache Ziggy { get; }
    public HybridCache Hybrid { get; }

    public void Dispose()
    {
        Fusion.Dispose();
        Ziggy.Dispose();
        _services.Dispose();
    }
}
