namespace Fusion.Bench;

/// <summary>
/// A fixed set of dedicated threads that run one piece of work together per <see cref="Run"/>, so a
/// benchmark measures the work and not thread start-up. Dedicated threads, not the pool: a caller
/// that blocks on another's flight must not starve the pool that completes it.
/// </summary>
internal sealed class ThreadGang : IDisposable
{
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim _start = new(0);
    private readonly CountdownEvent _done;
    private Action<int> _work = static _ => { };
    private volatile bool _stopping;

    public ThreadGang(int count)
    {
        _done = new CountdownEvent(count);
        _threads = new Thread[count];
        for (var i = 0; i < count; i++)
        {
            var index = i;
            _threads[i] = new Thread(() => Loop(index)) { IsBackground = true, Name = $"gang-{i}" };
            _threads[i].Start();
        }
    }

    public int Count => _threads.Length;

    /// <summary>Runs <paramref name="work"/>(thread index) on every thread at once and waits for all.</summary>
    public void Run(Action<int> work)
    {
        _work = work;
        _done.Reset();
        _start.Release(_threads.Length);
        _done.Wait();
    }

    public void Dispose()
    {
        _stopping = true;
        _start.Release(_threads.Length);
        foreach (var thread in _threads) thread.Join();
    }

    private void Loop(int index)
    {
        while (true)
        {
            _start.Wait();
            if (_stopping) return;
            _work(index);
            _done.Signal();
        }
    }
}
