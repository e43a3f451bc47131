using BitFaster.Caching.Lfu;
using BitFaster.Caching.Scheduler;
using Fusion.Core;
using Microsoft.FSharp.Core;

namespace Fusion.Runtime;

/// <summary>
/// L1: a bounded W-TinyLFU store (BitFaster's <see cref="ConcurrentLfu{K,V}"/>) of core entries.
/// Reads are lock-free. Every write is read-decide-write under a per-key stripe lock, because the
/// core's <c>supersedes</c> rule must see the entry it replaces (invariant 8).
/// </summary>
internal sealed class MemoryLevel
{
    private const int StripeCount = 64; // a power of two: the stripe is a mask of the key's hash
    private readonly ConcurrentLfu<string, Entry> _store;
    private readonly object[] _stripes = new object[StripeCount];

    public MemoryLevel(int capacity)
    {
        // Maintenance (applying buffered reads and writes, evicting) runs on the calling thread when a
        // buffer fills: the thread-pool scheduler would allocate a work item now and then on the hit path.
        _store = new ConcurrentLfu<string, Entry>(Environment.ProcessorCount, capacity, new ForegroundScheduler(), StringComparer.Ordinal);
        for (var i = 0; i < _stripes.Length; i++) _stripes[i] = new object();
    }

    /// <summary>Entries held now (eviction is batched, so this may briefly exceed capacity).</summary>
    public int Count => _store.Count;

    /// <summary>The capacity in entries.</summary>
    public int Capacity => _store.Capacity;

    public bool TryGet(string key, out Entry entry) => _store.TryGet(key, out entry!);

    public FSharpValueOption<Entry> Get(string key) =>
        _store.TryGet(key, out var entry) ? FSharpValueOption<Entry>.NewValueSome(entry) : FSharpValueOption<Entry>.ValueNone;

    /// <summary>Applies a change the core decided. <c>Put</c> lands only if it supersedes what is there;
    /// false when it did not.</summary>
    public bool Apply(string key, L1Change change)
    {
        switch (change)
        {
            case { IsKeep: true }: return true;
            case L1Change.Put put: return PutIfSupersedes(key, put.Entry);
            case { IsDrop: true }: Remove(key); return true;
            case L1Change.ExpireAt expire: Update(key, current => current.IsSome ? Lifecycle.expire(expire.At, current.Value) : L1Change.Keep); return true;
            default: throw new System.Diagnostics.UnreachableException();
        }
    }

    /// <summary>Stores <paramref name="entry"/> unless L1 holds a newer one; true when it was stored.</summary>
    public bool PutIfSupersedes(string key, Entry entry)
    {
        lock (StripeOf(key))
        {
            if (!Lifecycle.supersedes(Get(key), entry)) return false;
            _store.AddOrUpdate(key, entry);
            return true;
        }
    }

    /// <summary>Runs a core transition on the key's current entry (or its absence) and applies its result, atomically.</summary>
    public void Update(string key, Func<FSharpValueOption<Entry>, L1Change> transition)
    {
        lock (StripeOf(key))
        {
            var current = Get(key);
            // Transitions answer Keep, Put or Drop (never ExpireAt, which is how a command asks for one).
            var change = transition(current);
            if (change is L1Change.Put put) _store.AddOrUpdate(key, put.Entry);
            else if (change.IsDrop) _store.TryRemove(key);
        }
    }

    /// <summary>Runs a core transition on every entry (the reconnect revalidation).</summary>
    public void UpdateAll(Func<Entry, L1Change> transition)
    {
        foreach (var item in _store) Update(item.Key, current => current.IsSome ? transition(current.Value) : L1Change.Keep);
    }

    public void Remove(string key)
    {
        lock (StripeOf(key)) _store.TryRemove(key);
    }

    /// <summary>Drops <paramref name="entry"/> only if it is still the one stored (compare-and-remove).</summary>
    public void RemoveIfSame(string key, Entry entry) => _store.TryRemove(new KeyValuePair<string, Entry>(key, entry));

    /// <summary>Runs pending eviction now (tests use it to see capacity enforced).</summary>
    public void Maintain() => _store.DoMaintenance();

    private object StripeOf(string key) => _stripes[key.GetHashCode() & (StripeCount - 1)];
}
