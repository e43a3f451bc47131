using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using LanguageExt;

namespace Fusion.Bench;

/// <summary>
/// A stampede: <see cref="Callers"/> concurrent callers (thread-pool work items) read one cold key
/// whose factory takes <see cref="FactoryTime"/>. One operation is the whole stampede: its time is
/// the wall time until every caller has its value. The factory calls of every stampede are recorded
/// and shown in the "Factory calls" column (a perfect single flight shows 1).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(StampedeConfig))]
public class StampedeBenchmarks
{
    public const int Callers = 1000;
    public static readonly TimeSpan FactoryTime = TimeSpan.FromMilliseconds(50);
    private const string Key = "stampede";
    private readonly Task[] _callers = new Task[Callers];
    private CacheSet _caches = null!;
    private Func<Task> _fusionCall = null!, _ziggyCall = null!, _hybridCall = null!;
    private int _calls, _minCalls = int.MaxValue, _maxCalls;
    private string _method = "";

    [GlobalSetup]
    public void Setup()
    {
        _caches = new CacheSet();
        // The callers' delegates are made once, so a stampede allocates only what the caches allocate.
        Func<Task<Either<Err, string>>> fusionFactory = async () => Either<Err, string>.Right(await Factory());
        Func<ZiggyCreatures.Caching.Fusion.FusionCacheFactoryExecutionContext<string>, CancellationToken, Task<string>> ziggyFactory = (_, _) => Factory();
        Func<CancellationToken, ValueTask<string>> hybridFactory = _ => new(Factory());
        _fusionCall = () => _caches.Fusion.GetOrSet(Key, fusionFactory).AsTask();
        _ziggyCall = () => _caches.Ziggy.GetOrSetAsync<string>(Key, ziggyFactory).AsTask();
        _hybridCall = () => _caches.Hybrid.GetOrCreateAsync(Key, hybridFactory).AsTask();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Recorded.Write(_method, _minCalls == _maxCalls ? $"{_minCalls}" : $"{_minCalls}-{_maxCalls}");
        _caches.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task FusionCache_GetOrSetAsync() => Stampede(_caches.Ziggy.RemoveAsync(Key), _ziggyCall);

    [Benchmark]
    public Task Fusion_GetOrSet() => Stampede(_caches.Fusion.Remove(Key), _fusionCall);

    [Benchmark]
    public Task HybridCache_GetOrCreateAsync() => Stampede(_caches.Hybrid.RemoveAsync(Key), _hybridCall);

    private async Task<string> Factory()
    {
        Interlocked.Increment(ref _calls);
        await Task.Delay(FactoryTime).ConfigureAwait(false);
        return Caches.Value;
    }

    /// <summary>Makes the key cold, lets every caller loose on it, waits for all, records the factory calls.</summary>
    private async Task Stampede(ValueTask removal, Func<Task> call, [CallerMemberName] string method = "")
    {
        await removal;
        _method = method;
        _calls = 0;
        for (var i = 0; i < _callers.Length; i++) _callers[i] = Task.Run(call);
        await Task.WhenAll(_callers);
        _minCalls = Math.Min(_minCalls, _calls);
        _maxCalls = Math.Max(_maxCalls, _calls);
    }
}
