using Fusion.Core;

namespace Fusion.Runtime;

/// <summary>
/// One run of a key's factory and everyone waiting on it: the runtime's half of the key's work in
/// progress (the decisions are the core's <c>Work</c> module). A flight is the key's current one until it
/// ends, is superseded by a write, or is abandoned; a factory that outlives its callers' timeouts keeps
/// its flight current, so later callers join it instead of starting a second factory (invariant 10).
/// <para>Waiters are counted so that the factory's token is cancelled only when every waiter has gone
/// (and the flight may be abandoned at all). The task waiters await is created by the first one that
/// has to wait: a flight whose leader finishes at once and that nobody joined allocates none.</para>
/// </summary>
internal sealed class Flight
{
    private const int Closed = -1;
    // Stands for "completed" in _waiting once the ending is published; never completed itself.
    private static readonly TaskCompletionSource<Ending> Published = new();
    private TaskCompletionSource<Ending>? _waiting;
    private Ending _ending;
    // Only a flight whose factory may be cancelled pays for a token source (not the default options).
    private readonly CancellationTokenSource? _factoryCancellation;
    private readonly bool _cancelWhenAbandoned;
    private int _waiters;
    private int _completed;
    private long _startedAt;
    private volatile bool _superseded;

    /// <param name="cancellable">The factory may be cancelled: timed-out factories may not complete in the background.</param>
    /// <param name="background">A background refresh: nobody waits, so it is never abandoned. Otherwise the
    /// caller creating the flight is its first waiter (counted here, so it need not join).</param>
    public Flight(bool cancellable, bool background)
    {
        if (cancellable) _factoryCancellation = new CancellationTokenSource();
        _cancelWhenAbandoned = cancellable && !background;
        _waiters = background ? 0 : 1;
    }

    /// <summary>Completes with the flight's ending; never faults.</summary>
    public Task<Ending> Completion
    {
        get
        {
            var waiting = Volatile.Read(ref _waiting);
            if (waiting is null)
            {
                var mine = new TaskCompletionSource<Ending>(TaskCreationOptions.RunContinuationsAsynchronously);
                waiting = Interlocked.CompareExchange(ref _waiting, mine, null) ?? mine;
            }
            // Published before this waiter arrived: _ending was written before _waiting changed.
            return ReferenceEquals(waiting, Published) ? Task.FromResult(_ending) : waiting.Task;
        }
    }

    /// <summary>The token the factory receives: its own, or, for a factory that may not be cancelled by its callers,
    /// <paramref name="stopping"/> (the cache's, cancelled on Dispose; not kept here: 8 bytes less per flight).</summary>
    public CancellationToken FactoryToken(CancellationToken stopping) => _factoryCancellation?.Token ?? stopping;

    /// <summary>The flight's stamp (its result's timestamp), once its leader has taken it; 0 before.</summary>
    public long StartedAt => Volatile.Read(ref _startedAt);

    /// <summary>The leader took the flight's stamp.</summary>
    public void Begin(long stamp) => Volatile.Write(ref _startedAt, stamp);

    private bool IsAbandoned => Volatile.Read(ref _waiters) == Closed;

    /// <summary>Whether what comes of this flight may still change the cache (<c>Work.mayLand</c>). Read under
    /// the key's L1 lock, where <see cref="Supersede"/> is called.</summary>
    public bool MayLand => Work.mayLand(_superseded, IsAbandoned);

    /// <summary>A write came after the flight began (called under the key's L1 lock, by <see cref="FlightTable.Supersede"/>).</summary>
    public void Supersede() => _superseded = true;

    /// <summary>Adds a waiter; false when the flight may not be joined (superseded, or abandoned and its factory cancelled).</summary>
    public bool TryJoin()
    {
        // A write that supersedes the flight right after this check has not completed yet: this caller overlaps it.
        if (!Work.mayJoin(_superseded, false)) return false;
        while (true)
        {
            var n = Volatile.Read(ref _waiters);
            if (n == Closed) return false;
            if (Interlocked.CompareExchange(ref _waiters, n + 1, n) == n) return true;
        }
    }

    /// <summary>A waiter stopped waiting (its timeout or its token). The last one out abandons the flight and
    /// cancels the factory, when the factory may be cancelled.</summary>
    public void Leave()
    {
        if (Interlocked.Decrement(ref _waiters) != 0 || !_cancelWhenAbandoned) return;
        // Race: a joiner may have arrived since the decrement; it keeps the flight open.
        if (Interlocked.CompareExchange(ref _waiters, Closed, 0) == 0) CancelFactory();
    }

    /// <summary>Abandons the flight and cancels its factory (a refresh past its deadline).</summary>
    public void Abandon()
    {
        Volatile.Write(ref _waiters, Closed);
        CancelFactory();
    }

    private void CancelFactory()
    {
        try { _factoryCancellation?.Cancel(); }
        catch (AggregateException) { } // a user callback registered on the token threw; the factory sees it.
    }

    /// <summary>The cache is disposed: nothing of this flight may land any more, its factory is cancelled (if it
    /// listens), and every waiter gets <paramref name="ending"/> now rather than when (or if) the factory returns.</summary>
    public void Stop(Ending ending)
    {
        _superseded = true;
        Volatile.Write(ref _waiters, Closed);
        CancelFactory();
        Complete(ending);
    }

    /// <summary>Publishes the ending to every waiter: the first call only (the leader when its run ends, or
    /// <see cref="Stop"/> before it).</summary>
    public void Complete(Ending ending)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0) return;
        _ending = ending; // published by the exchange below
        var waiting = Interlocked.Exchange(ref _waiting, Published);
        waiting?.TrySetResult(ending);
    }
}
