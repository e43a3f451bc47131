using System.Runtime.CompilerServices;
using Fusion.Core;

namespace Fusion.Runtime;

/// <summary>
/// The shell's sources of time and randomness, which the core receives as plain inputs.
/// <list type="bullet">
/// <item><see cref="Now"/>, for reads: with the system clock, the wall clock read once a second and
/// advanced in between by the shared <see cref="Ticker"/> (a field read instead of a clock read on
/// every hit; steps of the ticker's millisecond, plenty to classify an entry).</item>
/// <item><see cref="Stamp"/>, for writes: the same clock, but strictly increasing on this node and
/// after every timestamp this node has seen from another (a hybrid logical clock), so writes are
/// ordered even within one millisecond and despite clock skew between nodes. (A precise wall-clock
/// read would cost ~26 ns a write on some VMs and order nothing better: clocks of different nodes
/// differ by more than a millisecond anyway.)</item>
/// </list>
/// Any other <see cref="TimeProvider"/> (a fake one in tests) is asked every time.
/// </summary>
internal sealed class Clock
{
    private readonly long _rebaseEvery;
    private readonly bool _system;
    private Anchor _anchor;
    private long _lastStamp;

    /// <param name="time">The time provider; the system one gets the ticker-based clock.</param>
    /// <param name="rebaseEvery">How often reads go back to the wall clock (a second; tests make it short
    /// to exercise concurrent rebases).</param>
    /// <param name="origin">This node's origin, carried by its writes.</param>
    public Clock(TimeProvider time, long origin = 0, TimeSpan? rebaseEvery = null)
    {
        Origin = origin;
        _rebaseEvery = (rebaseEvery ?? TimeSpan.FromSeconds(1)).Ticks;
        Time = time;
        _system = ReferenceEquals(time, TimeProvider.System);
        _anchor = new Anchor(DateTime.UtcNow.Ticks, Ticker.PreciseTicks());
    }

    public TimeProvider Time { get; }

    /// <summary>Now, in UTC ticks.</summary>
    public long Now
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (!_system) return Time.GetUtcNow().UtcTicks;
            var anchor = Volatile.Read(ref _anchor);
            // The ticker may be a little behind the precise reading the anchor was made with: never before the anchor.
            var elapsed = Math.Max(Ticker.Shared.Ticks - anchor.Elapsed, 0);
            return elapsed < _rebaseEvery ? anchor.UtcTicks + elapsed : Rebase(anchor);
        }
    }

    /// <summary>The timestamp of a write made at <paramref name="now"/> (a reading of <see cref="Now"/>, which the
    /// caller needs too): now, but strictly after every stamp given or observed before.</summary>
    public long Stamp(long now)
    {
        while (true)
        {
            var last = Volatile.Read(ref _lastStamp);
            var next = Math.Max(now, last + 1);
            if (Interlocked.CompareExchange(ref _lastStamp, next, last) == last) return next;
        }
    }

    /// <summary>A timestamp from another node (a notification, an L2 entry): later stamps here come after it.</summary>
    public void Observe(long timestamp)
    {
        var last = Volatile.Read(ref _lastStamp);
        while (timestamp > last)
        {
            var seen = Interlocked.CompareExchange(ref _lastStamp, timestamp, last);
            if (seen == last) return;
            last = seen;
        }
    }

    /// <summary>This node's origin (<c>Order.originOf</c> its instance id): with the stamp, it orders a write among
    /// every node's. Stamps never repeat on a node, so no per-node sequence is needed beside them.</summary>
    public long Origin { get; }

    /// <summary>A jitter draw in [0, JitterMaxDuration), in ticks.</summary>
    public long Jitter(EntryOptions options)
    {
        var max = options.JitterMaxDuration.Ticks;
        return max > 0 ? Random.Shared.NextInt64(max) : 0;
    }

    // Once a second: back to the wall clock, but never behind what was already handed out. The anchor
    // pairs the wall clock with a precise monotonic reading taken next to it, not with the ticker's
    // (older) one, nor a coarse one: since a rebase never moves the clock back, any error that puts the
    // projection ahead of the wall clock would stay, and add up rebase after rebase.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long Rebase(Anchor anchor)
    {
        var wall = DateTime.UtcNow.Ticks;
        var elapsed = Ticker.PreciseTicks();
        var projected = anchor.UtcTicks + (elapsed - anchor.Elapsed);
        var now = Math.Max(wall, projected);
        // Only over the anchor this rebase started from: a rebaser that read the clocks earlier and then
        // stalled would otherwise overwrite a newer anchor, and reads would go back in time (by the stall).
        // The loser reads again from the winner's anchor, which is ahead of anything read from the old one.
        return ReferenceEquals(Interlocked.CompareExchange(ref _anchor, new Anchor(now, elapsed), anchor), anchor) ? now : Now;
    }

    /// <summary>A wall-clock instant and the ticker's time at that instant (both in ticks).</summary>
    private sealed record Anchor(long UtcTicks, long Elapsed);
}
