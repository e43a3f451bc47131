using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Fusion.Runtime;

/// <summary>
/// A bounded concurrent map with S3-FIFO eviction (Yang et al., SOSP 2023): a small FIFO that new keys
/// enter, a main FIFO for keys read again while in it, and a ghost list of keys recently evicted from
/// the small FIFO (a ghost comes back straight into main).
/// <para>Why S3-FIFO: a hit only bumps a small counter on its node (no lock, no buffer, no queue
/// move), so a read costs about a dictionary lookup, and all policy work happens on inserts, under one
/// lock. Its hit ratio on Zipf traces is close to W-TinyLFU's (docs/benchmarks.md).</para>
/// <para>Contract: writes of one key (<see cref="Set(string, TValue)"/>, <see cref="TryRemove(string)"/>,
/// <see cref="TryRemove(string, TValue)"/>) must be serialized by the caller (the memory level's stripe
/// lock). Reads and writes of different keys run concurrently. Capacity is enforced when a key is
/// inserted: <see cref="Count"/> never stays above <see cref="Capacity"/>.</para>
/// </summary>
internal sealed class BoundedStore<TValue> where TValue : class
{
    // Sizes from the paper's defaults, tuned on the hit-ratio trace: the small FIFO is a tenth of the
    // capacity, the ghost list remembers half a capacity's worth of evicted keys.
    private const int SmallPercent = 10;
    private const int GhostPercent = 50;
    private const int MaxFrequency = 3;
    private const int MapLocks = 64;

    private readonly ConcurrentDictionary<string, Node> _map;
    private readonly object _policy = new();
    private readonly Queue<Node> _small = new();
    private readonly Queue<Node> _main = new();
    private readonly GhostKeys _ghost;
    private readonly int _smallCapacity;
    private int _count;

    public BoundedStore(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _smallCapacity = Math.Max(1, capacity * SmallPercent / 100);
        _ghost = new GhostKeys(Math.Max(1, capacity * GhostPercent / 100));
        // The default string comparer keeps .NET's fast non-randomized hashing until collisions pile up.
        // Locks: a dictionary given a concurrency level keeps exactly that many locks for its writes (it
        // grows them only when left to its default, which also gives up the initial capacity); one per
        // core serialized every insert and eviction under load, so take many.
        _map = new ConcurrentDictionary<string, Node>(MapLocks, Math.Min(capacity, 1024));
    }

    public int Capacity { get; }

    /// <summary>Keys held now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Nodes in the FIFOs, removed ones not yet dropped included (for tests).</summary>
    internal int QueuedNodes
    {
        get { lock (_policy) return _small.Count + _main.Count; }
    }

    /// <summary>The value under <paramref name="key"/>, counted as a read for eviction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(string key, out TValue value)
    {
        if (_map.TryGetValue(key, out var node))
        {
            // A racy bump: a lost increment only makes eviction slightly less informed. Hot nodes stop
            // being written once saturated, so readers on many cores do not fight over the cache line.
            var frequency = node.Frequency;
            if (frequency < MaxFrequency) node.Frequency = frequency + 1;
            value = node.Value;
            return true;
        }
        value = null!;
        return false;
    }

    /// <summary>The value under <paramref name="key"/>, without counting a read (writers look before they write).</summary>
    public bool TryPeek(string key, out TValue value)
    {
        var node = Find(key);
        value = node?.Value!;
        return node is not null;
    }

    /// <summary>The key's node as it is now, or null: for a writer that looks before it writes and then
    /// passes it to <see cref="Set(string, TValue, Node?)"/>, so the key is looked up once. Not counted as a read.</summary>
    public Node? Find(string key) => _map.TryGetValue(key, out var node) ? node : null;

    /// <summary>Stores <paramref name="value"/>: in place when the key is held, else as a new key (which may evict another).</summary>
    public void Set(string key, TValue value) => Set(key, value, Find(key));

    /// <summary>As <see cref="Set(string, TValue)"/>, with the key's node from <see cref="Find"/> (found
    /// since the caller's serialization of the key's writes began).</summary>
    public void Set(string key, TValue value, Node? held)
    {
        if (held is not null)
        {
            held.Value = value;
            // Evicted before the write: store it again. (Evicted just after it, the write is simply evicted.)
            if (!held.Gone) return;
        }
        var node = new Node(key, value);
        if (!_map.TryAdd(key, node)) throw new InvalidOperationException($"key '{key}' was added concurrently: writes of one key must be serialized");
        Interlocked.Increment(ref _count);
        Admit(node);
    }

    /// <summary>Removes the key; false when it was not held.</summary>
    public bool TryRemove(string key)
    {
        if (!_map.TryRemove(key, out var node)) return false;
        Forget(node);
        return true;
    }

    /// <summary>Removes the key only while it still holds <paramref name="expected"/> (by reference).</summary>
    public bool TryRemove(string key, TValue expected)
    {
        if (!_map.TryGetValue(key, out var node) || !ReferenceEquals(node.Value, expected)) return false;
        if (!_map.TryRemove(new KeyValuePair<string, Node>(key, node))) return false;
        Forget(node);
        return true;
    }

    /// <summary>A moment's snapshot of the keys (lock-free; keys written meanwhile may or may not appear).</summary>
    public IEnumerable<string> Keys
    {
        get
        {
            foreach (var item in _map) yield return item.Key;
        }
    }

    private void Forget(Node node)
    {
        node.Gone = true;
        Interlocked.Decrement(ref _count);
    }

    private void Admit(Node node)
    {
        lock (_policy)
        {
            // Room first, then the new node: queued first, it could be chosen as the victim of its own
            // insert (a ghost entering main behind read nodes would be evicted at once, again and again).
            while (Volatile.Read(ref _count) > Capacity && (_small.Count > 0 || _main.Count > 0)) EvictOne();
            (_ghost.Contains(node.Key) ? _main : _small).Enqueue(node);
            DropRemovedHeads(_small);
            DropRemovedHeads(_main);
            DropRemovedIfCrowded();
        }
    }

    // One step of S3-FIFO eviction: from the small FIFO while it is over its share (a node read while
    // there moves to main instead), else from main (a node read since its last pass gets another one).
    private void EvictOne()
    {
        if (_small.Count > _smallCapacity || _main.Count == 0) EvictFromSmall();
        else EvictFromMain();
    }

    private void EvictFromSmall()
    {
        while (_small.TryDequeue(out var node))
        {
            if (node.Gone) continue;
            if (node.Frequency > 0)
            {
                node.Frequency = 0;
                _main.Enqueue(node);
                if (_main.Count > Capacity - _smallCapacity) { EvictFromMain(); return; }
                continue;
            }
            if (Evict(node)) _ghost.Add(node.Key);
            return;
        }
    }

    private void EvictFromMain()
    {
        // Each pass lowers a node's count, so this ends within MaxFrequency + 1 passes unless readers keep
        // raising them; the bound evicts the head then, whatever its count.
        var budget = (MaxFrequency + 1) * _main.Count + 1;
        while (_main.TryDequeue(out var node))
        {
            if (node.Gone) continue;
            if (node.Frequency > 0 && --budget > 0)
            {
                node.Frequency--;
                _main.Enqueue(node);
                continue;
            }
            Evict(node);
            return;
        }
    }

    private bool Evict(Node node)
    {
        // Compare-and-remove: a concurrent writer may have removed it (then it is already forgotten).
        if (!_map.TryRemove(new KeyValuePair<string, Node>(node.Key, node))) return false;
        Forget(node);
        return true;
    }

    // A removed node at the head of a FIFO goes at once (the common case of a key removed and written
    // again while few others are queued); the sweep below catches the ones further back.
    private static void DropRemovedHeads(Queue<Node> queue)
    {
        while (queue.TryPeek(out var head) && head.Gone) queue.Dequeue();
    }

    // Removed keys leave their nodes in the FIFOs until eviction reaches them; with many removals they
    // would pile up (and keep their values alive), so sweep them out once they are more than half the
    // live keys (and 16): each sweep is paid for by at least that many removals.
    private void DropRemovedIfCrowded()
    {
        var live = Volatile.Read(ref _count);
        if (_small.Count + _main.Count <= live + live / 2 + 16) return;
        Sweep(_small);
        Sweep(_main);

        static void Sweep(Queue<Node> queue)
        {
            for (var n = queue.Count; n > 0; n--)
            {
                var node = queue.Dequeue();
                if (!node.Gone) queue.Enqueue(node);
            }
        }
    }

    /// <summary>A key's slot: its value, and its eviction state (which only this store touches).</summary>
    internal sealed class Node(string key, TValue value)
    {
        public readonly string Key = key;
        public volatile TValue Value = value;
        public int Frequency;
        public volatile bool Gone;
    }
}
