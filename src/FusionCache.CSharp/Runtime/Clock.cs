using System.Runtime.CompilerServices;
using Fusion.Core;

namespace Fusion.Runtime;

/// <summary>
/// The shell's sources of time and randomness, which the core receives as plain inputs.
/// <list type="bullet">
/// <item><see cref="Now"/>: the wall clock, read once a second and advanced in between by a precise monotonic
/// clock. Everything but a hit reads it: misses, writes, timeouts, fallbacks.</item>
/// <item><see cref="Cheap"/>, for the hit path only: the same clock advanced by the shared <see cref="Ticker"/>
/// (a field read instead of a clock read on every hit). The ticker can lag when its thread is starved (13–130 ms
/// measured with six busy threads on two cores), so a hit whose entry has a deadline within
/// <see cref="LagWindow"/> of the cheap reading checks again with <see cref="Now"/>
/// (<c>Entry.nearDeadline</c>): no entry is served past a deadline unless the ticker stalled for longer than
/// the window.</item>
/// <item><see cref="Stamp"/>, for writes: strictly increasing on this node and after every timestamp this node
/// has seen from another (a hybrid logical clock), so writes are ordered even within one tick and despite clock
/// skew between nodes.</item>
/// </list>
/// <para>A backward step of the wall clock is never followed backwards (reads never go back), and the lead it
/// leaves is not kept: at each rebase the clock stands still for up to half a rebase period, so the lead shrinks
/// by a third of the time that passes (a one-minute step is absorbed in about three minutes).</para>
/// Any other <see cref="TimeProvider"/> (a fake one in tests) is asked every time.
/// </summary>
internal sealed class Clock
{
    /// <summary>How close to a deadline a cheap reading is checked against the precise clock.</summary>
    public static readonly TimeSpan DefaultLagWindow = TimeSpan.FromSeconds(1);

    private readonly long _rebaseEvery;
    private readonly bool _system;
    private readonly Ticker _ticker;
    private readonly Func<long> _wall;
    private Anchor _anchor;
    private long _lastStamp;

    /// <param name="time">The time provider; the system one gets the ticker-based clock.</param>
    /// <param name="origin">This node's origin, carried by its writes.</param>
    /// <param name="rebaseEvery">How often reads go back to the wall clock (a second; tests make it short
    /// to exercise concurrent rebases).</param>
    public Clock(TimeProvider time, long origin = 0, TimeSpan? rebaseEvery = null)
        : this(time, origin, rebaseEvery, ReferenceEquals(time, TimeProvider.System) ? Ticker.Shared : null, static () => DateTime.UtcNow.Ticks)
    {
    }

    /// <summary>The ticker-based clock on <paramref name="ticker"/> and <paramref name="wall"/> (tests: a starved ticker,
    /// a wall clock that steps back); with a null ticker, <paramref name="time"/> is asked every time.</summary>
    internal Clock(TimeProvider time, long origin, TimeSpan? rebaseEvery, Ticker? ticker, Func<long> wall)
    {
        Origin = origin;
        _rebaseEvery = (rebaseEvery ?? TimeSpan.FromSeconds(1)).Ticks;
        Time = time;
        _system = ticker is not null;
        _ticker = ticker ?? Ticker.Shared;
        _wall = wall;
        _anchor = new Anchor(wall(), _ticker.Precise());
        LagWindow = _system ? DefaultLagWindow.Ticks : 0;
    }

    public TimeProvider Time { get; }

    /// <summary>How far <see cref="Cheap"/> may be trusted to lag at most (0 when it is exact: a non-system clock).</summary>
    public long LagWindow { get; }

    /// <summary>This node's origin (<c>Order.originOf</c> its instance id): with the stamp, it orders a write among
    /// every node's. Stamps never repeat on a node, so no per-node sequence is needed beside them.</summary>
    public long Origin { get; }

    /// <summary>Now, in UTC ticks, from the precise clock.</summary>
    public long Now
    {
        get
        {
            if (!_system) return Time.GetUtcNow().UtcTicks;
            return Read(Volatile.Read(ref _anchor), _ticker.Precise());
        }
    }

    /// <summary>Now, in UTC ticks, as of the ticker's last tick: may lag <see cref="Now"/> (see the class remarks).
    /// For the hit path, with <c>Entry.nearDeadline</c> and <see cref="LagWindow"/>.</summary>
    public long Cheap
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (!_system) return Time.GetUtcNow().UtcTicks;
            var anchor = Volatile.Read(ref _anchor);
            // The ticker may be a little behind the precise reading the anchor was made with: never before the anchor.
            var elapsed = Math.Max(_ticker.Ticks - anchor.Elapsed, 0);
            return elapsed < _rebaseEvery ? anchor.UtcTicks + elapsed : Rebase(anchor);
        }
    }

    private long Read(Anchor anchor, long precise)
    {
        var elapsed = Math.Max(precise - anchor.Elapsed, 0);
        return elapsed < _rebaseEvery ? anchor.UtcTicks + elapsed : Rebase(anchor);
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

    /// <summary>A timestamp from another node (a notification, an L2 entry), already checked plausible
    /// (<c>Order.plausible</c>): later stamps here come after it.</summary>
    public void Observe(long timestamp) => AtomicMax.Raise(ref _lastStamp, timestamp);

    /// <summary>A jitter draw in [0, JitterMaxDuration), in ticks.</summary>
    public long Jitter(EntryOptions options)
    {
        var max = options.JitterMaxDuration.Ticks;
        return max > 0 ? Random.Shared.NextInt64(max) : 0;
    }

    // Once a rebase period: back to the wall clock, but never behind what was already handed out. The anchor
    // pairs the wall clock with a precise monotonic reading taken next to it. When the projection is ahead of the
    // wall clock (it stepped back), the new anchor keeps the projection but starts up to half a period in the
    // future: reads stand still until then, so the lead shrinks instead of staying for the life of the process.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long Rebase(Anchor anchor)
    {
        var wall = _wall();
        var elapsed = _ticker.Precise();
        var projected = anchor.UtcTicks + Math.Max(elapsed - anchor.Elapsed, 0);
        var next = projected <= wall
            ? new Anchor(wall, elapsed)
            : new Anchor(projected, elapsed + Math.Min(projected - wall, _rebaseEvery / 2));
        // Only over the anchor this rebase started from: a rebaser that read the clocks earlier and then
        // stalled would otherwise overwrite a newer anchor, and reads would go back in time (by the stall).
        // The loser reads again from the winner's anchor, which is ahead of anything read from the old one.
        return ReferenceEquals(Interlocked.CompareExchange(ref _anchor, next, anchor), anchor) ? next.UtcTicks : Now;
    }

    /// <summary>A wall-clock instant and the ticker's time at that instant (both in ticks).</summary>
    private sealed record Anchor(long UtcTicks, long Elapsed);
}
