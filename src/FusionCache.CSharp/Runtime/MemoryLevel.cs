using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fusion.Core;
using Microsoft.FSharp.Core;

namespace Fusion.Runtime;

/// <summary>
/// L1: a bounded store of core entries (<see cref="BoundedStore{TValue}"/>, S3-FIFO eviction), and the
/// place where writes meet the key's work in progress.
/// Reads are lock-free. Every write is read-decide-write under a per-key stripe lock, because the
/// core's <c>supersedes</c> rule must see the entry it replaces (invariant 8). Under the same lock a
/// write supersedes the key's running flight (<see cref="Write(string, L1Change, Fusion.Core.Write)"/>)
/// and a flight's result lands only while it is still current (<see cref="Land"/>): a write and a
/// landing never interleave, so a result older than a write never lands after it (invariant 11).
/// </summary>
internal sealed class MemoryLevel
{
    private const int StripeBits = 6;
    internal const int StripeCount = 1 << StripeBits; // the stripe is the top bits of the key's hash
    private readonly BoundedStore<Entry> _store;
    private readonly FlightTable _flights;
    private readonly object[] _stripes = new object[StripeCount];
    // Writes per stripe, counted under its lock: a read that is not a flight (TryGet's L2 read) copies
    // into L1 only if no write came meanwhile (Work.mayFill).
    private readonly long[] _epochs = new long[StripeCount];

    public MemoryLevel(int capacity) : this(capacity, new FlightTable()) { }

    public MemoryLevel(int capacity, FlightTable flights)
    {
        _store = new BoundedStore<Entry>(capacity);
        _flights = flights;
        for (var i = 0; i < _stripes.Length; i++) _stripes[i] = new object();
    }

    /// <summary>Entries held now: at most the capacity when no write is in progress (each write that goes
    /// over evicts before it returns; concurrent inserts may briefly exceed it).</summary>
    public int Count => _store.Count;

    /// <summary>The capacity in entries.</summary>
    public int Capacity => _store.Capacity;

    /// <summary>The invalidations readers see entries through (<c>Clear</c>, <c>RemoveByTag</c>): the flight table's.</summary>
    public Invalidations Invalidations => _flights.Invalidations;

    /// <summary>The key's entry as readers see it (through the invalidations: an entry removed by a tag or a Clear is
    /// absent, one staled by them is stale).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(string key, out Entry entry) => _store.TryGet(key, out entry) && Invalidations.View(ref entry);

    /// <summary>What a reader deciding on the key sees (through the invalidations; not counted as a read).</summary>
    public FSharpValueOption<Entry> Get(string key) => Invalidations.View(Current(_store.Find(key)));

    /// <summary>A write to the key (a local command): supersedes the key's running flight, then applies the
    /// change the core decided. <c>Put</c> lands only if it supersedes what is there; false when it did not.</summary>
    public bool Write(string key, L1Change change, Fusion.Core.Write write)
    {
        var stripe = StripeIndex(key);
        lock (_stripes[stripe])
        {
            _epochs[stripe]++;
            _flights.Supersede(key, write);
            return ApplyLocked(key, change);
        }
    }

    /// <summary>A write to the key decided on its current entry (a remote notification): supersedes the key's
    /// running flight when the core says so, then applies the transition's change, atomically.</summary>
    public void Write(string key, Func<FSharpValueOption<Entry>, L1Change> transition, Fusion.Core.Write write)
    {
        var stripe = StripeIndex(key);
        lock (_stripes[stripe])
        {
            _epochs[stripe]++;
            _flights.Supersede(key, write);
            ApplyLocked(key, transition(Current(_store.Find(key))));
        }
    }

    /// <summary>A change derived from <paramref name="flight"/> (its result, a fail-safe activation of one of its
    /// callers): applied only while the flight may land (<c>Work.mayLand</c>). False when the flight was
    /// superseded or abandoned: then nothing of it may reach L2 or other nodes either.</summary>
    public bool Land(string key, Flight flight, L1Change change, out bool stored)
    {
        if (change.IsKeep)
        {
            stored = false;
            return flight.MayLand;
        }
        lock (StripeOf(key))
        {
            if (!flight.MayLand)
            {
                stored = false;
                return false;
            }
            stored = ApplyLocked(key, change);
            return true;
        }
    }

    /// <summary>The write epoch of the key's stripe, for <see cref="Fill"/>.</summary>
    public long Epoch(string key) => Volatile.Read(ref _epochs[StripeIndex(key)]);

    /// <summary>Copies what a read found elsewhere (L2) into L1, unless a write to the stripe came since
    /// <paramref name="epoch"/> or L1 holds something newer.</summary>
    public void Fill(string key, Entry entry, long epoch)
    {
        var stripe = StripeIndex(key);
        lock (_stripes[stripe])
        {
            if (Work.mayFill(epoch, _epochs[stripe])) ApplyLocked(key, L1Change.NewPut(entry));
        }
    }

    /// <summary>Applies a change the core decided, outside any flight or command (tests, revalidation).</summary>
    public bool Apply(string key, L1Change change)
    {
        if (change.IsKeep) return true;
        lock (StripeOf(key)) return ApplyLocked(key, change);
    }

    /// <summary>Drops the key's L1 copy as an eviction would (benchmarks and tests): not a write, so it
    /// supersedes no flight.</summary>
    public void Remove(string key) => Apply(key, L1Change.Drop);

    private bool ApplyLocked(string key, L1Change change)
    {
        switch (change.Tag)
        {
            case L1Change.Tags.Keep: return true;
            case L1Change.Tags.Put: return PutIfSupersedes_NeedsLock(key, change.Entry!);
            case L1Change.Tags.Drop: _store.TryRemove(key); return true;
            case L1Change.Tags.ExpireAt:
                var held = _store.Find(key);
                if (held is not null && Lifecycle.expire(change.At, held.Value) is { IsPut: true } expired) _store.Set(key, expired.Entry, held);
                return true;
            default: throw new System.Diagnostics.UnreachableException();
        }
    }

    /// <summary>Stores <paramref name="entry"/> unless L1 holds a newer one; true when it was stored.</summary>
    private bool PutIfSupersedes_NeedsLock(string key, Entry entry)
    {
        var held = _store.Find(key);
        if (!Lifecycle.supersedes(Current(held), entry)) return false;
        _store.Set(key, entry, held);
        if (entry.Tags.Length > 0) Invalidations.Lived(entry);
        return true;
    }

    /// <summary>A moment's snapshot of the keys held (keys written meanwhile may or may not appear).</summary>
    public IEnumerable<string> Keys => _store.Keys;

    /// <summary>Runs a core transition on every entry (the reconnect revalidation's fallback).</summary>
    public void UpdateAll(Func<Entry, L1Change> transition)
    {
        foreach (var key in _store.Keys)
        {
            lock (StripeOf(key))
            {
                var held = _store.Find(key);
                if (held is not null) ApplyLocked(key, transition(held.Value));
            }
        }
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
