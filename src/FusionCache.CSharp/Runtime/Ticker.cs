using System.Runtime.CompilerServices;

namespace Fusion.Runtime;

/// <summary>
/// A process-wide millisecond clock (<see cref="Environment.TickCount64"/>) kept in a field by its own
/// thread, so a cache hit reads a field instead of the OS clock (about 6 ns on a VM, a quarter of a hit).
/// <para>Why it parks: a thread waking every millisecond in an idle process is a cost nobody asked for.
/// Readers mark the clock as read; every so often (a second for <see cref="Shared"/>) the thread checks
/// the mark and, when nothing read it, parks. The next reader finds it parked, reads the OS clock itself and starts the thread again.</para>
/// <para>Precision: a reading is at most one tick behind the OS clock, plus however long the scheduler
/// keeps the thread from running (on a saturated machine, a few milliseconds).</para>
/// </summary>
internal sealed class Ticker
{
    private const long Parked = long.MinValue;

    /// <summary>The one every cache on the system clock reads: ticks every millisecond, checks for readers once a second.</summary>
    public static readonly Ticker Shared = new(checkEveryTicks: 1000);

    private readonly int _checkEveryTicks;
    private long _milliseconds = Parked;
    private bool _read;
    private int _running;
    private int _starts;

    /// <param name="checkEveryTicks">How many 1 ms ticks pass between two checks for readers.</param>
    public Ticker(int checkEveryTicks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(checkEveryTicks, 1);
        _checkEveryTicks = checkEveryTicks;
    }

    /// <summary>Whether the thread is ticking (false once it parked).</summary>
    public bool IsTicking => Volatile.Read(ref _milliseconds) != Parked;

    /// <summary>How many times the thread was started (for tests: once, while readers keep it busy).</summary>
    public int Starts => Volatile.Read(ref _starts);

    /// <summary>Milliseconds of <see cref="Environment.TickCount64"/>, as of the last tick.</summary>
    public long Milliseconds
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var ms = Volatile.Read(ref _milliseconds);
            if (ms == Parked) return Start();
            // Read before written: the flag's cache line is written once a second, not once a read.
            if (!_read) _read = true;
            return ms;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long Start()
    {
        var now = Environment.TickCount64;
        // One starter wins; a reader that loses (or races a thread that is parking) uses the OS clock this time.
        if (Interlocked.CompareExchange(ref _running, 1, 0) != 0) return now;
        _read = true;
        Interlocked.Increment(ref _starts);
        Volatile.Write(ref _milliseconds, now);
        new Thread(Run) { IsBackground = true, Name = "Fusion ticker" }.Start();
        return now;
    }

    private void Run()
    {
        for (var ticks = 1; ; ticks++)
        {
            Thread.Sleep(1);
            Volatile.Write(ref _milliseconds, Environment.TickCount64);
            if (ticks % _checkEveryTicks != 0) continue;
            if (Volatile.Read(ref _read))
            {
                _read = false;
                continue;
            }
            // Parked first, then not running: a reader that sees Parked while this thread is still
            // "running" reads the OS clock, and the next one starts a new thread.
            Volatile.Write(ref _milliseconds, Parked);
            Volatile.Write(ref _running, 0);
            return;
        }
    }
}
