using Fusion.Core;

namespace Fusion.Runtime;

/// <summary>
/// One run of a key's factory and everyone waiting on it. Waiters are counted so that the factory's
/// token is cancelled only when every waiter has gone (and the flight may be abandoned at all).
/// The task waiters await is created by the first one that has to wait: a flight whose leader finishes
/// at once (a factory that completed synchronously) and that nobody joined allocates none.
/// </summary>
internal sealed class Flight
{
    private const int Closed = -1;
    // Stands for "completed" in _waiting once the reply is published; never completed itself.
    private static readonly TaskCompletionSource<Reply> Published = new();
    private TaskCompletionSource<Reply>? _waiting;
    private Reply _reply;
    // Only a flight whose factory may be cancelled pays for a token source (not the default options).
    private readonly CancellationTokenSource? _factoryCancellation;
    private readonly bool _cancelWhenAbandoned;
    private int _waiters;

    /// <param name="cancellable">The factory may be cancelled: timed-out factories may not complete in the background.</param>
    /// <param name="background">A background refresh: nobody waits, so it is never abandoned. Otherwise the
    /// caller creating the flight is its first waiter (counted here, so it need not join).</param>
    public Flight(bool cancellable, bool background)
    {
        if (cancellable) _factoryCancellation = new CancellationTokenSource();
        _cancelWhenAbandoned = cancellable && !background;
        _waiters = background ? 0 : 1;
    }

    /// <summary>Completes with the flight's reply; never faults.</summary>
    public Task<Reply> Completion
    {
        get
        {
            var waiting = Volatile.Read(ref _waiting);
            if (waiting is null)
            {
                var mine = new TaskCompletionSource<Reply>(TaskCreationOptions.RunContinuationsAsynchronously);
                waiting = Interlocked.CompareExchange(ref _waiting, mine, null) ?? mine;
            }
            // Published before this waiter arrived: _reply was written before _waiting changed.
            return ReferenceEquals(waiting, Published) ? Task.FromResult(_reply) : waiting.Task;
        }
    }

    /// <summary>The token the factory receives.</summary>
    public CancellationToken FactoryToken => _factoryCancellation?.Token ?? CancellationToken.None;

    /// <summary>Adds a waiter; false once the flight was abandoned and its factory cancelled.</summary>
    public bool TryJoin()
    {
        while (true)
        {
            var n = Volatile.Read(ref _waiters);
            if (n == Closed) return false;
            if (Interlocked.CompareExchange(ref _waiters, n + 1, n) == n) return true;
        }
    }

    /// <summary>A waiter gave up. The last one out closes the flight and cancels the factory.</summary>
    public void Leave()
    {
        if (Interlocked.Decrement(ref _waiters) != 0 || !_cancelWhenAbandoned) return;
        // Race: a joiner may have arrived since the decrement; it keeps the flight open.
        if (Interlocked.CompareExchange(ref _waiters, Closed, 0) == 0) CancelFactory();
    }

    /// <summary>Cancels the factory's token (a timed-out factory that may not complete in the background).</summary>
    public void CancelFactory()
    {
        try { _factoryCancellation?.Cancel(); }
        catch (AggregateException) { } // a user callback registered on the token threw; the factory sees it.
    }

    /// <summary>Publishes the reply to every waiter. Called once, by the leader when its run ends.</summary>
    public void Complete(Reply reply)
    {
        _reply = reply; // published by the exchange below
        var waiting = Interlocked.Exchange(ref _waiting, Published);
        waiting?.TrySetResult(reply);
    }
}
