using System.Globalization;
using BenchmarkDotNet.Attributes;

namespace Fusion.Bench;

/// <summary>
/// Throughput under contention: <see cref="Threads"/> threads read keys of a Zipf trace (exponent
/// <see cref="Exponent"/> over <see cref="KeyCount"/> keys) through caches bounded to
/// <see cref="Capacity"/> entries, so hot keys hit and the tail misses and is evicted again. One
/// invocation is <see cref="Operations"/> reads split across the threads, so the reported time is per
/// read: throughput = 1e9 / Mean(ns) reads per second, summed over all threads. Every row reads the same
/// trace (seed 7) with the same factory (a completed, shared value, counted as a miss), so
/// <c>Ratio</c> (against FusionCache) and <c>× HybridCache</c> compare like with like; BitFaster's
/// <c>GetOrAdd</c> is synchronous and has no single flight, the others are read-through with one.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ContentionConfig))]
public class ContentionBenchmarks
{
    public const int KeyCount = 10_000;
    public const int Capacity = 5_000;
    public const double Exponent = 0.9;
    public const int Operations = 1 << 16;
    private const int TraceLength = 1 << 20;
    private static readonly string[] Keys = ZipfTrace.Keys(KeyCount);
    private static readonly int[] Trace = ZipfTrace.Create(KeyCount, Exponent, TraceLength, seed: 7);
    private ThreadGang _gang = null!;
    private TracedCache _cache = null!;
    private Action<int> _read = null!;
    private long _reads;
    private int _round;
    private string _method = "";

    [Params(2, 4, 8)]
    public int Threads { get; set; }

    [GlobalSetup(Target = nameof(Fusion_GetOrSet))]
    public void SetupFusion() => Setup("Fusion", nameof(Fusion_GetOrSet));

    [GlobalSetup(Target = nameof(FusionCache_GetOrSetAsync))]
    public void SetupZiggy() => Setup("FusionCache", nameof(FusionCache_GetOrSetAsync));

    [GlobalSetup(Target = nameof(HybridCache_GetOrCreateAsync))]
    public void SetupHybrid() => Setup("HybridCache", nameof(HybridCache_GetOrCreateAsync));

    [GlobalSetup(Target = nameof(ConcurrentLru_GetOrAdd))]
    public void SetupLru() => Setup("ConcurrentLru", nameof(ConcurrentLru_GetOrAdd));

    [GlobalSetup(Target = nameof(ConcurrentTLru_GetOrAdd))]
    public void SetupTLru() => Setup("ConcurrentTLru", nameof(ConcurrentTLru_GetOrAdd));

    [GlobalCleanup]
    public void Cleanup()
    {
        var missPercent = 100.0 * _cache.Misses / Math.Max(1, _reads);
        Recorded.Write(_method, missPercent.ToString("0.0", CultureInfo.InvariantCulture), Threads);
        _gang.Dispose();
        _cache.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    public void FusionCache_GetOrSetAsync() => RunRound();

    [Benchmark(OperationsPerInvoke = Operations)]
    public void Fusion_GetOrSet() => RunRound();

    [Benchmark(OperationsPerInvoke = Operations)]
    public void HybridCache_GetOrCreateAsync() => RunRound();

    /// <summary>BitFaster ConcurrentLru: no expiry at all (a reference point, not a like-for-like row).</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    public void ConcurrentLru_GetOrAdd() => RunRound();

    /// <summary>BitFaster ConcurrentTLru: the same LRU with a one-hour time to live per entry, the fair BitFaster row.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    public void ConcurrentTLru_GetOrAdd() => RunRound();

    private void Setup(string cache, string method)
    {
        _method = method;
        _cache = TracedCache.Create(cache, Capacity);
        _gang = new ThreadGang(Threads);
        var perThread = Operations / Threads;
        // Each round, each thread reads its own next slice of the trace.
        _read = thread =>
        {
            var start = (_round * Operations + thread * perThread) & (TraceLength - 1);
            for (var i = 0; i < perThread; i++) _cache.Read(Keys[Trace[(start + i) & (TraceLength - 1)]]);
        };
        for (var i = 0; i < TraceLength / Operations; i++) RunRound(); // warm: one pass over the trace
        _reads = 0;
        _cache.ResetMisses();
    }

    private void RunRound()
    {
        _gang.Run(_read);
        _round++;
        _reads += Operations;
    }
}
