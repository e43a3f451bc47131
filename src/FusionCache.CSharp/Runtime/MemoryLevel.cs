using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fusion.Core;
using Microsoft.FSharp.Core;

namespace Fusion.Runtime;

/// <summary>
/// L1: a bounded store of core entries (<see cref="BoundedStore{TValue}"/>, S3-FIFO eviction).
/// Reads are lock-free. Every write is read-decide-write under a per-key stripe lock, because the
/// core's <c>supersedes</c> rule must see the entry it replaces (invariant 8).
/// </summary>
internal sealed class MemoryLevel
{
    private const int StripeBits = 6;
    private const int StripeCount = 1 << StripeBits; // the stripe is the top bits of the key's hash
    private readonly BoundedStore<Entry> _store;
    private readonly object[] _stripes = new object[StripeCount];

    public MemoryLevel(int capacity)
    {
        _store = new BoundedStore<Entry>(capacity);
        for (var i = 0; i < _stripes.Length; i++) _stripes[i] = new object();
    }

    /// <summary>Entries held now: at most the capacity when no write is in progress (each write that goes
    /// over evicts before it returns; concurrent inserts may briefly exceed it).</summary>
    public int Count => _store.Count;

    /// <summary>The capacity in entries.</summary>
    public int Capacity => _store.Capacity;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(string key, out Entry entry) => _store.TryGet(key, out entry);

    /// <summary>What a writer sees before it decides (not counted as a read).</summary>
    public FSharpValueOption<Entry> Get(string key) => Current(_store.Find(key));

    /// <summary>Applies a change the core decided. <c>Put</c> lands only if it supersedes what is there;
    /// false when it did not.</summary>
    public bool Apply(string key, L1Change change)
    {
        switch (change)
        {
            case { IsKeep: true }: return true;
            case L1Change.Put put: return PutIfSupersedes(key, put.Entry);
            case { IsDrop: true }: Remove(key); return true;
            case L1Change.ExpireAt expire: ExpireAt(key, expire.At); return true;
            default: throw new System.Diagnostics.UnreachableException();
        }
    }

    // Its own method: a lambda capturing the case's variable inside Apply would make every Apply allocate its closure.
    private void ExpireAt(string key, long at) => Update(key, current => current.IsSome ? Lifecycle.expire(at, current.Value) : L1Change.Keep);

    /// <summary>Stores <paramref name="entry"/> unless L1 holds a newer one; true when it was stored.</summary>
    public bool PutIfSupersedes(string key, Entry entry)
    {
        lock (StripeOf(key))
        {
            var held = _store.Find(key);
            if (!Lifecycle.supersedes(Current(held), entry)) return false;
            _store.Set(key, entry, held);
            return true;
        }
    }

    /// <summary>Runs a core transition on the key's current entry (or its absence) and applies its result, atomically.</summary>
    public void Update(string key, Func<FSharpValueOption<Entry>, L1Change> transition)
    {
        lock (StripeOf(key))
        {
            var held = _store.Find(key);
            // Transitions answer Keep, Put or Drop (never ExpireAt, which is how a command asks for one).
            var change = transition(Current(held));
            if (change is L1Change.Put put) _store.Set(key, put.Entry, held);
            else if (change.IsDrop) _store.TryRemove(key);
        }
    }

    /// <summary>Runs a core transition on every entry (the reconnect revalidation).</summary>
    public void UpdateAll(Func<Entry, L1Change> transition)
    {
        foreach (var key in _store.Keys) Update(key, current => current.IsSome ? transition(current.Value) : L1Change.Keep);
    }

    public void Remove(string key)
    {
        lock (StripeOf(key)) _store.TryRemove(key);
    }

    /// <summary>Drops <paramref name="entry"/> only if it is still the one stored (compare-and-remove).</summary>
    public void RemoveIfSame(string key, Entry entry)
    {
        lock (StripeOf(key)) _store.TryRemove(key, entry);
    }

    private static FSharpValueOption<Entry> Current(BoundedStore<Entry>.Node? held) =>
        held is null ? FSharpValueOption<Entry>.ValueNone : FSharpValueOption<Entry>.NewValueSome(held.Value);

    private object StripeOf(string key) => _stripes[StripeIndex(key)];

    // Every L1 write hashes its key for the stripe; string.GetHashCode (randomized Marvin) costs ~8 ns
    // for a short key, this ~4. A stripe only spreads writers over locks, so no seed is needed: keys
    // crafted to share a stripe would only make their writes take turns.
    internal static int StripeIndex(string key)
    {
        var words = MemoryMarshal.Cast<char, ulong>(key.AsSpan());
        var hash = (ulong)key.Length;
        foreach (var word in words) hash = BitOperations.RotateLeft((hash ^ word) * Golden, 31);
        for (var i = words.Length * 4; i < key.Length; i++) hash = (hash ^ key[i]) * Golden;
        return (int)((hash * Golden) >> (64 - StripeBits));
    }

    private const ulong Golden = 0x9E3779B97F4A7C15; // 2^64 / φ: multiplying by it spreads bits to the top
}
