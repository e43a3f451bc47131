using System.Runtime.CompilerServices;
using Fusion.Core;

namespace Fusion.Runtime;

/// <summary>
/// The shell's sources of time and randomness, which the core receives as plain inputs.
/// <list type="bullet">
/// <item><see cref="Now"/>, for reads: with the system clock, the wall clock read once a second and
/// advanced in between by the shared <see cref="Ticker"/>'s milliseconds (a field read instead of a clock
/// read on every hit; millisecond steps, plenty to classify an entry).</item>
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
    private const long RebaseEveryMs = 1000;
    private readonly bool _system;
    private Anchor _anchor;
    private long _lastStamp;

    public Clock(TimeProvider time)
    {
        Time = time;
        _system = ReferenceEquals(time, TimeProvider.System);
        _anchor = _system ? new Anchor(DateTime.UtcNow.Ticks, Ticker.Shared.Milliseconds) : new Anchor(0, 0); // any other clock leaves the ticker alone
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
            var ms = Ticker.Shared.Milliseconds;
            var elapsedMs = ms - anchor.TickMs;
            return elapsedMs < RebaseEveryMs ? anchor.UtcTicks + elapsedMs * TimeSpan.TicksPerMillisecond : Rebase(anchor, ms);
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

    /// <summary>The write sequence of a write stamped <paramref name="stamp"/>: the stamp itself. The core orders
    /// writes with equal timestamps by their sequence; stamps never repeat on a node, so the stamp orders
    /// this node's writes already, and a separate counter would be a second contended write per write.</summary>
    public static long SequenceOf(long stamp) => stamp;

    /// <summary>A jitter draw in [0, JitterMaxDuration), in ticks.</summary>
    public long Jitter(EntryOptions options)
    {
        var max = options.JitterMaxDuration.Ticks;
        return max > 0 ? Random.Shared.NextInt64(max) : 0;
    }

    // Once a second: back to the wall clock, but never behind what was already handed out.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long Rebase(Anchor anchor, long ms)
    {
        var projected = anchor.UtcTicks + (ms - anchor.TickMs) * TimeSpan.TicksPerMillisecond;
        var now = Math.Max(DateTime.UtcNow.Ticks, projected);
        Volatile.Write(ref _anchor, new Anchor(now, ms)); // a benign race: any winner is valid
        return now;
    }

    private sealed record Anchor(long UtcTicks, long TickMs);
}
