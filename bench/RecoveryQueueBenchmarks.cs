using BenchmarkDotNet.Attributes;
using Fusion.Core;
using Fusion.Distributed;

namespace Fusion.Bench;

/// <summary>
/// The recovery queue's cost at its bound (issue: enqueue scanned all keys under the lock once full, and a replay
/// pass sorted them all): 100,000 keys queued, then one more key per operation (the oldest dropped), a write to a
/// key already queued (merged), and the snapshot a replay pass takes.
/// </summary>
[MemoryDiagnoser]
public class RecoveryQueueBenchmarks
{
    private const int Keys = 100_000;
    private RecoveryQueue _queue = null!;
    private string[] _fresh = null!;
    private int _next;
    private static readonly L2Write Put = new(L2Write.Kind.Put, new byte[64], Ticks.Never, 1);

    [GlobalSetup]
    public void Setup()
    {
        _queue = new RecoveryQueue(Keys, long.MaxValue);
        for (var i = 0; i < Keys; i++) _queue.Enqueue($"queued-{i}", Put, null);
        _fresh = Enumerable.Range(0, 1 << 20).Select(i => $"fresh-{i}").ToArray();
    }

    /// <summary>A new key into the full queue: the oldest key is dropped.</summary>
    [Benchmark]
    public int EnqueueIntoAFullQueue() => _queue.Enqueue(_fresh[_next++ & ((1 << 20) - 1)], Put, null)?.Count ?? 0;

    /// <summary>A write of a key that is queued already: merged with it.</summary>
    [Benchmark]
    public int EnqueueAQueuedKey() => _queue.Enqueue(_fresh[(_next - 1) & ((1 << 20) - 1)], Put, null)?.Count ?? 0;

    /// <summary>The keys a replay pass walks, oldest first.</summary>
    [Benchmark]
    public int ReplayPassSnapshot() => _queue.Keys().Length;
}
