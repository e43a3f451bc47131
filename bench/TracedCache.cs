using BitFaster.Caching.Lfu;
using BitFaster.Caching.Lru;
using LanguageExt;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;

namespace Fusion.Bench;

/// <summary>
/// One bounded cache behind its read-through call, for the trace-driven benchmarks (contention, hit
/// ratio). Each factory run counts a miss; the factories are created once, so a read allocates only
/// what the cache itself allocates.
/// </summary>
internal abstract class TracedCache : IDisposable
{
    private long _misses;

    /// <summary>Factory runs so far.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Reads <paramref name="key"/>, running the factory on a miss; blocks if the call did not complete synchronously.</summary>
    public abstract string Read(string key);

    public virtual void Dispose() { }

    /// <summary>Forgets the misses so far (after a warm-up).</summary>
    public void ResetMisses() => Interlocked.Exchange(ref _misses, 0);

    protected void CountMiss() => Interlocked.Increment(ref _misses);

    /// <summary>The caches by the names the tables use.</summary>
    public static TracedCache Create(string name, int capacity) => name switch
    {
        "Fusion" => new FusionTraced(capacity),
        "FusionCache" => new ZiggyTraced(capacity),
        "HybridCache" => new HybridTraced(capacity),
        "MemoryCache" => new MemoryTraced(capacity),
        "ConcurrentLfu" => new LfuTraced(capacity),
        "ConcurrentLru" => new LruTraced(capacity),
        "ConcurrentTLru" => new TLruTraced(capacity),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such cache"),
    };

    private sealed class FusionTraced : TracedCache
    {
        private readonly Fusion.FusionCache _cache;
        private readonly Func<Task<Either<Err, string>>> _factory;

        public FusionTraced(int capacity)
        {
            _cache = Caches.Fusion(capacity);
            _factory = () => { CountMiss(); return Caches.FusionValue; };
        }

        public override string Read(string key) =>
            Caches.Wait(_cache.GetOrSet(key, _factory)).Match(Right: static v => v, Left: static _ => "");

        public override void Dispose() => _cache.Dispose();
    }

    private sealed class ZiggyTraced : TracedCache
    {
        private readonly ZiggyCreatures.Caching.Fusion.FusionCache _cache;
        private readonly Func<ZiggyCreatures.Caching.Fusion.FusionCacheFactoryExecutionContext<string>, CancellationToken, Task<string>> _factory;

        public ZiggyTraced(int capacity)
        {
            _cache = Caches.Ziggy(capacity);
            _factory = (_, _) => { CountMiss(); return Caches.ZiggyValue; };
        }

        public override string Read(string key) => Caches.Wait(_cache.GetOrSetAsync<string>(key, _factory));

        public override void Dispose() => _cache.Dispose();
    }

    private sealed class HybridTraced : TracedCache
    {
        private readonly HybridCache _cache;
        private readonly ServiceProvider _services;
        private readonly Func<CancellationToken, ValueTask<string>> _factory;

        public HybridTraced(int capacity)
        {
            _cache = Caches.Hybrid(out _services, capacity);
            _factory = _ => { CountMiss(); return ValueTask.FromResult(Caches.Value); };
        }

        public override string Read(string key) => Caches.Wait(_cache.GetOrCreateAsync(key, _factory));

        public override void Dispose() => _services.Dispose();
    }

    private sealed class MemoryTraced : TracedCache
    {
        private readonly MemoryCache _cache;
        private readonly Func<ICacheEntry, string> _factory;

        public MemoryTraced(int capacity)
        {
            _cache = Caches.Memory(capacity);
            _factory = entry =>
            {
                CountMiss();
                entry.Size = 1;
                entry.AbsoluteExpirationRelativeToNow = Caches.Duration;
                return Caches.Value;
            };
        }

        public override string Read(string key) => _cache.GetOrCreate(key, _factory)!;

        public override void Dispose() => _cache.Dispose();
    }

    private sealed class LfuTraced : TracedCache
    {
        private readonly ConcurrentLfu<string, string> _cache;
        private readonly Func<string, string> _factory;

        public LfuTraced(int capacity)
        {
            _cache = Caches.Lfu(capacity);
            _factory = _ => { CountMiss(); return Caches.Value; };
        }

        public override string Read(string key) => _cache.GetOrAdd(key, _factory);
    }

    private sealed class LruTraced : TracedCache
    {
        private readonly ConcurrentLru<string, string> _cache;
        private readonly Func<string, string> _factory;

        public LruTraced(int capacity)
        {
            _cache = new ConcurrentLru<string, string>(capacity);
            _factory = _ => { CountMiss(); return Caches.Value; };
        }

        public override string Read(string key) => _cache.GetOrAdd(key, _factory);
    }

    /// <summary>BitFaster's ConcurrentTLru: ConcurrentLru with a time to live from each write (the suite's one
    /// hour), the BitFaster LRU that expires entries as the other caches do.</summary>
    private sealed class TLruTraced : TracedCache
    {
        private readonly ConcurrentTLru<string, string> _cache;
        private readonly Func<string, string> _factory;

        public TLruTraced(int capacity)
        {
            _cache = new ConcurrentTLru<string, string>(capacity, Caches.Duration);
            _factory = _ => { CountMiss(); return Caches.Value; };
        }

        public override string Read(string key) => _cache.GetOrAdd(key, _factory);
    }
}
