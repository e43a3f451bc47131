namespace Fusion.Tests.Support;

/// <summary>
/// Counts unobserved task exceptions that carry the test's mark (other test classes run in parallel and
/// may leave their own), for as long as it is not disposed.
/// </summary>
internal sealed class UnobservedFaults : IDisposable
{
    private readonly string _mark;
    private int _count;
    private string? _first;

    public UnobservedFaults(string mark)
    {
        _mark = mark;
        TaskScheduler.UnobservedTaskException += OnUnobserved;
    }

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
    {
        if (!e.Exception.Flatten().InnerExceptions.Any(x => x.ToString().Contains(_mark, StringComparison.Ordinal))) return;
        Interlocked.CompareExchange(ref _first, e.Exception.Flatten().InnerExceptions[0].Message, null);
        Interlocked.Increment(ref _count);
        e.SetObserved();
    }

    /// <summary>Collects garbage for a while (the background work may still be finishing) and fails on any fault of ours.</summary>
    public async Task AssertNone()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(1))
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var seen = Volatile.Read(ref _count);
            if (seen > 0) throw new Xunit.Sdk.XunitException($"{seen} faulted background task(s) were never observed, the first with: {Volatile.Read(ref _first)}");
            await Task.Delay(20);
        }
    }

    public void Dispose() => TaskScheduler.UnobservedTaskException -= OnUnobserved;
}
