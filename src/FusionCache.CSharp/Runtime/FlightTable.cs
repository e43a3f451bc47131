using System.Collections.Concurrent;
using Fusion.Core;

namespace Fusion.Runtime;

/// <summary>
/// The single-flight coalescer: at most one current <see cref="Flight"/> per key. Lock-free: a caller adds an
/// unstarted flight with <c>TryAdd</c> and only the caller whose flight was published starts it,
/// so user code never runs under a lock (what a <c>Lazy</c> would also ensure, without its lock).
/// Flights leave by compare-and-remove, so a finished or superseded flight never removes its successor.
/// </summary>
internal sealed class FlightTable(long origin = 0, Invalidations? invalidations = null)
{
    private readonly Invalidations _invalidations = invalidations ?? new();

    /// <summary>The invalidations (<c>Clear</c>, <c>RemoveByTag</c>) readers see L1 through: shared with <see cref="MemoryLevel"/>.</summary>
    public Invalidations Invalidations => _invalidations;

    private readonly ConcurrentDictionary<string, Flight> _flights = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Current flights (a debug counter the tests read).</summary>
    public int Count => _flights.Count;

    /// <summary>Joins the key's flight as a waiter, creating it when there is none.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellable">For a new flight: its factory may be cancelled (when every waiter has left).</param>
    /// <param name="isLeader">True when the caller created the flight and must start it.</param>
    public Flight Join(string key, bool cancellable, out bool isLeader)
    {
        while (true)
        {
            if (IsStopped) Throw.Disposed(); // a call that got past the cache's check as it was disposed
            if (!_flights.TryGetValue(key, out var flight))
            {
                var mine = new Flight(cancellable, background: false, _stopping.Token); // counts its creator as a waiter
                isLeader = _flights.TryAdd(key, mine);
                if (isLeader) return mine;
                continue; // another caller's flight came first: join it
            }
            isLeader = false;

            // A flight that began before a Clear or a RemoveByTag may read the source from before it: a caller
            // arriving after one starts afresh (the flight itself still lands; readers see it through the marks).
            if (Work.mayJoinAfterInvalidation(flight.StartedAt, _invalidations.Latest) && flight.TryJoin()) return flight;
            // Abandoned (its factory cancelled) or superseded: help remove it, then start afresh (invariant 7).
            Leave(key, flight);
        }
    }

    /// <summary>Starts a background flight for the key unless one is running; true when it was created.</summary>
    public bool TryStartBackground(string key, bool cancellable, out Flight flight)
    {
        if (IsStopped || _flights.ContainsKey(key)) { flight = null!; return false; }
        flight = new Flight(cancellable, background: true, _stopping.Token);
        return _flights.TryAdd(key, flight);
    }

    /// <summary>A write to the key: its current flight, if the core says the write supersedes it, is marked
    /// and removed, so later callers start afresh and its result never lands. Called under the key's L1 lock.</summary>
    public void Supersede(string key, Write write)
    {
        if (!_flights.TryGetValue(key, out var flight) || !Work.supersedes(origin, flight.StartedAt, write)) return;
        flight.Supersede();
        Leave(key, flight);
    }

    /// <summary>The cache is disposed: every factory's token is cancelled, every flight stopped (its waiters answered
    /// with <paramref name="ending"/>, nothing of it lands) and removed. A factory that ignores its token runs on, but
    /// nothing waits on it and nothing it returns is kept.</summary>
    public void StopAll(Ending ending)
    {
        try { _stopping.Cancel(); }
        catch (AggregateException) { } // a user callback registered on a factory's token threw
        foreach (var (key, flight) in _flights)
        {
            flight.Stop(ending);
            Leave(key, flight);
        }
    }

    /// <summary>Whether <see cref="StopAll"/> ran: no flight may start any more.</summary>
    public bool IsStopped => _stopping.IsCancellationRequested;

    /// <summary>Removes the flight if it is still the key's current one (compare-and-remove).</summary>
    public void Leave(string key, Flight flight) => _flights.TryRemove(new KeyValuePair<string, Flight>(key, flight));
}
