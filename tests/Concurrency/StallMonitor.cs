namespace Fusion.Tests.Concurrency;

/// <summary>
/// Notes when the whole process stopped running (a loaded machine not scheduling it, a GC pause): a thread of
/// its own wakes every few ms and records each gap longer than <see cref="Gap"/>. The timing checks do not
/// count stalled time against the cache.
/// </summary>
internal sealed class StallMonitor : IDisposable
{
    private static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(25);
    private readonly Recorder _recorder;
    private readonly List<Stall> _stalls = [];
    private readonly Thread _thread;
    private volatile bool _stop;

    public StallMonitor(Recorder recorder)
    {
        _recorder = recorder;
        _thread = new Thread(Watch) { IsBackground = true, Name = "stall monitor", Priority = ThreadPriority.AboveNormal };
        _thread.Start();
    }

    public IReadOnlyList<Stall> Stalls
    {
        get { lock (_stalls) return _stalls.ToList(); }
    }

    private void Watch()
    {
        var last = _recorder.Now;
        while (!_stop)
        {
            Thread.Sleep(5);
            var now = _recorder.Now;
            if (now - last > Gap)
                lock (_stalls) _stalls.Add(new Stall(last, now));
            last = now;
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}

/// <summary>A stretch of real time in which the process did not run.</summary>
internal sealed record Stall(TimeSpan From, TimeSpan To);
