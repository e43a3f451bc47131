using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Fusion.Runtime;

/// <summary>
/// A process-wide monotonic clock kept in a field by its own thread, which reads the precise OS clock
/// (<see cref="Stopwatch"/>) every millisecond: a cache hit reads a field instead of a clock (about 6 ns
/// even for the coarse one on a VM, a quarter of a hit; and the coarse one steps by 4 ms on Linux).
/// <para>Why it parks: a thread waking every millisecond in an idle process is a cost nobody asked for.
/// Readers mark the clock as read; every so often (1000 ticks for <see cref="Shared"/>) the thread checks
/// the mark and, when nothing read it, parks. The next reader finds it parked, reads the OS clock itself
/// and starts the thread again.</para>
/// <para>Precision: a reading is at most one tick behind the OS clock, plus however long the thread is
/// kept from running (the scheduler on a saturated machine, a garbage collection's pause). A tick is a
/// <c>Thread.Sleep(1)</c>: about a millisecond on Linux, up to ~16 ms on Windows' default timer.</para>
/// </summary>
internal sealed class Ticker
{
    private const long Parked = long.MinValue;

    /// <summary>The one every cache on the system clock reads: checks for readers every 1000 ticks (a second on Linux).</summary>
    public static readonly Ticker Shared = new(checkEveryTicks: 1000);

    private readonly int _checkEveryTicks;
    // A ticker driven by a test (no thread): its ticks and its precise reading are what the test sets.
    private readonly bool _manual;
    private long _manualPrecise;
    private long _ticks = Parked;
    private bool _read;
    private int _running;
    private int _starts;

    /// <param name="checkEveryTicks">How many 1 ms ticks pass between two checks for readers.</param>
    public Ticker(int checkEveryTicks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(checkEveryTicks, 1);
        _checkEveryTicks = checkEveryTicks;
    }

    private Ticker(long ticks, long precise)
    {
        _checkEveryTicks = 1;
        _manual = true;
        _ticks = ticks;
        _manualPrecise = precise;
    }

    /// <summary>A ticker with no thread, for tests: <see cref="Ticks"/> and <see cref="Precise"/> are what the test sets
    /// (a frozen <see cref="Ticks"/> with an advancing <see cref="Precise"/> is a starved ticker thread).</summary>
    internal static Ticker Manual(long ticks) => new(ticks, ticks);

    /// <summary>Sets a manual ticker's readings.</summary>
    internal void Set(long ticks, long precise)
    {
        Debug.Assert(_manual);
        Volatile.Write(ref _manualPrecise, precise);
        Volatile.Write(ref _ticks, ticks);
    }

    /// <summary>Whether the thread is ticking (false once it parked).</summary>
    public bool IsTicking => Volatile.Read(ref _ticks) != Parked;

    /// <summary>How many times the thread was started (for tests: once, while readers keep it busy).</summary>
    public int Starts => Volatile.Read(ref _starts);

    /// <summary>The time elapsed since an arbitrary origin (the same for every reader), in
    /// <see cref="TimeSpan"/> ticks, as of the thread's last tick.</summary>
    public long Ticks
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var ticks = Volatile.Read(ref _ticks);
            if (ticks == Parked) return Start(); // never for a manual ticker
            // Read before written: the flag's cache line is written once a check, not once a read.
            if (!_read) _read = true;
            return ticks;
        }
    }

    /// <summary>The precise reading <see cref="Ticks"/> is a copy of (tens of nanoseconds: for rare callers).</summary>
    public static long PreciseTicks() => Stopwatch.GetElapsedTime(Origin).Ticks;

    /// <summary>This ticker's precise reading: the OS clock, or a manual ticker's set value.</summary>
    public long Precise() => _manual ? Volatile.Read(ref _manualPrecise) : PreciseTicks();

    private static readonly long Origin = Stopwatch.GetTimestamp();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long Start()
    {
        // One starter wins. A reader that loses waits for the winner's first reading (returning a fresher
        // one of its own would let later reads go back to the winner's), or, if it raced a thread that
        // was parking, for that thread to finish, and then tries to start it itself.
        if (Interlocked.CompareExchange(ref _running, 1, 0) != 0) return AfterLosingStart();
        // Read after winning: a reading from before a stall here would publish a time long past.
        var now = PreciseTicks();
        _read = true;
        Interlocked.Increment(ref _starts);
        Volatile.Write(ref _ticks, now);
        try
        {
            new Thread(Run) { IsBackground = true, Name = "Fusion ticker" }.Start();
        }
        catch
        {
            // No thread, no ticks: parked again, so the next reader reads the OS clock and tries again.
            Volatile.Write(ref _ticks, Parked);
            Volatile.Write(ref _running, 0);
            throw;
        }
        return now;
    }

    private long AfterLosingStart()
    {
        var spinner = new SpinWait();
        while (true)
        {
            var ticks = Volatile.Read(ref _ticks);
            if (ticks != Parked) return ticks;
            if (Volatile.Read(ref _running) == 0) return Start();
            spinner.SpinOnce();
        }
    }

    private void Run()
    {
        for (var ticks = 1; ; ticks++)
        {
            Thread.Sleep(1);
            Volatile.Write(ref _ticks, PreciseTicks());
            if (ticks % _checkEveryTicks != 0) continue;
            if (Volatile.Read(ref _read))
            {
                _read = false;
                continue;
            }
            // Parked first, then not running: a reader that sees Parked while this thread is still
            // "running" reads the OS clock, and the next one starts a new thread.
            Volatile.Write(ref _ticks, Parked);
            Volatile.Write(ref _running, 0);
            return;
        }
    }
}
