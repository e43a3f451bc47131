using System.Runtime.InteropServices;
using Fusion.Core;

namespace Fusion.Runtime;

/// <summary>
/// The single-flight coalescer: at most one current <see cref="Flight"/> per key. A caller adds an unstarted flight
/// and only the caller whose flight was added starts it, so user code never runs under a lock (what a <c>Lazy</c>
/// would also ensure, without its lock). Flights leave by compare-and-remove, so a finished or superseded flight
/// never removes its successor.
/// <para>Why striped plain dictionaries under short locks rather than one <c>ConcurrentDictionary</c>: that one
/// allocates a 48-byte node per flight (its adds lock a bucket stripe too), a seventh of what a miss allocated. A
/// <c>Dictionary</c> keeps its entries in arrays, so a flight costs no allocation beyond itself; no user code and
/// no other lock is entered under a stripe's lock (a write's <see cref="Supersede"/> comes from under the key's L1
/// lock, never the other way round).</para>
/// </summary>
internal sealed class FlightTable(long origin = 0, Invalidations? invalidations = null)
{
    private readonly Invalidations _invalidations = invalidations ?? new();

    /// <summary>The invalidations (<c>Clear</c>, <c>RemoveByTag</c>) readers see L1 through: shared with <see cref="MemoryLevel"/>.</summary>
    public Invalidations Invalidations => _invalidations;

    // Each stripe is its own lock. The default string comparer keeps .NET's fast non-randomized hashing until
    // collisions pile up (then it randomizes), so crafted keys cannot make a stripe's lookups slow.
    private readonly Dictionary<string, Flight>[] _stripes = CreateStripes();
    private readonly CancellationTokenSource _stopping = new();

    private static Dictionary<string, Flight>[] CreateStripes()
    {
        var stripes = new Dictionary<string, Flight>[MemoryLevel.StripeCount];
        for (var i = 0; i < stripes.Length; i++) stripes[i] = new Dictionary<string, Flight>();
        return stripes;
    }

    private Dictionary<string, Flight> StripeOf(string key) => _stripes[MemoryLevel.StripeIndex(key)];

    /// <summary>Current flights (a debug counter the tests read).</summary>
    public int Count
    {
        get
        {
            var count = 0;
            foreach (var stripe in _stripes)
                lock (stripe) count += stripe.Count;
            return count;
        }
    }

    /// <summary>The token of a factory that has no own one (<see cref="Flight.FactoryToken"/>): cancelled when the cache is disposed.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Joins the key's flight as a waiter, creating it when there is none.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellable">For a new flight: its factory may be cancelled (when every waiter has left).</param>
    /// <param name="isLeader">True when the caller created the flight and must start it.</param>
    public Flight Join(string key, bool cancellable, out bool isLeader)
    {
        var stripe = StripeOf(key);
        lock (stripe)
        {
            if (IsStopped) Throw.Disposed(); // a call that got past the cache's check as it was disposed
            // One lookup for both cases: the slot of the key's flight, added empty when there is none.
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(stripe, key, out var exists);
            // A flight that began before a Clear or a RemoveByTag may read the source from before it: a caller
            // arriving after one starts afresh (the flight itself still lands; readers see it through the marks).
            // Abandoned (its factory cancelled) or superseded: replaced, so this caller starts afresh (invariant 7).
            if (exists && Work.mayJoinAfterInvalidation(slot!.StartedAt, _invalidations.Latest) && slot.TryJoin())
            {
                isLeader = false;
                return slot;
            }
            slot = new Flight(cancellable, background: false); // counts its creator as a waiter
            isLeader = true;
            return slot;
        }
    }

    /// <summary>Starts a background flight for the key unless one is running; true when it was created.</summary>
    public bool TryStartBackground(string key, bool cancellable, out Flight flight)
    {
        var stripe = StripeOf(key);
        lock (stripe)
        {
            if (IsStopped || stripe.ContainsKey(key)) { flight = null!; return false; }
            flight = new Flight(cancellable, background: true);
            stripe.Add(key, flight);
            return true;
        }
    }

    /// <summary>A write to the key: its current flight, if the core says the write supersedes it, is marked
    /// and removed, so later callers start afresh and its result never lands. Called under the key's L1 lock.</summary>
    public void Supersede(string key, Write write)
    {
        var stripe = StripeOf(key);
        lock (stripe)
        {
            if (!stripe.TryGetValue(key, out var flight) || !Work.supersedes(origin, flight.StartedAt, write)) return;
            flight.Supersede();
            stripe.Remove(key);
        }
    }

    /// <summary>The cache is disposed: every factory's token is cancelled, every flight stopped (its waiters answered
    /// with <paramref name="ending"/>, nothing of it lands) and removed. A factory that ignores its token runs on, but
    /// nothing waits on it and nothing it returns is kept.</summary>
    public void StopAll(Ending ending)
    {
        try { _stopping.Cancel(); }
        catch (AggregateException) { } // a user callback registered on a factory's token threw
        foreach (var stripe in _stripes)
        {
            KeyValuePair<string, Flight>[] current;
            lock (stripe) current = [.. stripe];
            // Stopped outside the lock (cancelling runs the factories' token callbacks), before they leave, as a
            // superseded flight would be: marked first, so nothing of it lands.
            foreach (var (key, flight) in current)
            {
                flight.Stop(ending);
                Leave(key, flight);
            }
        }
    }

    /// <summary>Whether <see cref="StopAll"/> ran: no flight may start any more.</summary>
    public bool IsStopped => _stopping.IsCancellationRequested;

    /// <summary>Removes the flight if it is still the key's current one (compare-and-remove).</summary>
    public void Leave(string key, Flight flight)
    {
        var stripe = StripeOf(key);
        lock (stripe)
        {
            // One lookup in the usual case (the flight is still the key's); a successor is put back.
            if (stripe.Remove(key, out var current) && !ReferenceEquals(current, flight)) stripe[key] = current;
        }
    }
}
