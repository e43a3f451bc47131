using Fusion.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Fusion.Tests;

/// <summary>
/// Nothing the cache does in the background escapes (SEMANTICS §3.8): a timed-out factory that later fails,
/// throws or succeeds, reported through a logger that itself throws, leaves no faulted task behind for
/// <see cref="TaskScheduler.UnobservedTaskException"/>, and every call returns normally.
/// </summary>
public sealed class BackgroundFaultTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    private static readonly FusionCacheEntryOptions HardOnly = new() { FactoryHardTimeout = Timeout };
    private static readonly FusionCacheEntryOptions SoftOnly = new() { FactorySoftTimeout = Timeout };

    /// <summary>Thrown by <see cref="ThrowingLogger"/>; its message carries the test's own mark.</summary>
    private sealed class LoggerFault(string message) : Exception(message);

    /// <summary>A logger that is enabled for everything and throws from every <c>Log</c>.</summary>
    private sealed class ThrowingLogger(string mark) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            throw new LoggerFault($"{mark}: the log provider failed");
    }

    /// <summary>
    /// Counts unobserved task exceptions that carry the test's mark (other test classes run in parallel and
    /// may leave their own), for as long as it is not disposed.
    /// </summary>
    private sealed class UnobservedFaults : IDisposable
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

    private readonly string _mark = $"background-fault-{Guid.NewGuid():N}";

    private TestCache Cache(bool failSafe = false) =>
        TestCache.Create(b =>
        {
            b = b.WithDuration(Duration).WithLogger(new ThrowingLogger(_mark));
            return failSafe ? b.WithFailSafe() : b;
        });

    [Fact]
    public async Task HardTimedOutFactory_ThatLaterFails_LeavesNoUnobservedFault()
    {
        using var faults = new UnobservedFaults(_mark);
        using var t = Cache();
        var factory = TestFactory<string>.Waiting();
        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, HardOnly);
        t.Advance(Timeout);
        Expect.Left<Err.FactoryTimedOut, string>(await Eventually.Within(result));

        factory[1].Fail(Err.Of($"{_mark}: source down"));
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the flight ends");

        await faults.AssertNone();
    }

    [Fact]
    public async Task SoftTimedOutFactory_ThatLaterThrows_LeavesNoUnobservedFault()
    {
        using var faults = new UnobservedFaults(_mark);
        using var t = Cache(failSafe: true);
        await t.SetThenAdvance("k", "old", Duration);
        var factory = TestFactory<string>.Waiting();
        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, SoftOnly);
        t.Advance(Timeout);
        Assert.Equal("old", await Expect.Right(result));

        factory[1].Result.SetException(new InvalidOperationException($"{_mark}: the factory threw"));
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the flight ends");

        await faults.AssertNone();
    }

    [Fact]
    public async Task HardTimedOutFactory_ThatLaterSucceedsAfterANewerSet_LeavesNoUnobservedFault()
    {
        using var faults = new UnobservedFaults(_mark);
        using var t = Cache();
        var factory = TestFactory<string>.Waiting();
        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, HardOnly);
        t.Advance(Timeout);
        Expect.Left<Err.FactoryTimedOut, string>(await Eventually.Within(result));
        await t.Cache.Set("k", "newer");

        factory[1].Succeed("older");
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the flight ends");

        await faults.AssertNone();
        Assert.Equal("newer", await t.Cached<string>("k"));
    }

    [Fact]
    public async Task HardTimedOutFactory_ThatLaterSucceeds_LeavesNoUnobservedFaultAndCachesTheValue()
    {
        using var faults = new UnobservedFaults(_mark);
        using var t = Cache();
        var factory = TestFactory<string>.Waiting();
        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, HardOnly);
        t.Advance(Timeout);
        Expect.Left<Err.FactoryTimedOut, string>(await Eventually.Within(result));

        factory[1].Succeed("late");
        await Eventually.Assert(async () => await t.Cached<string>("k") == "late", "the background completion lands");
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the flight ends");

        await faults.AssertNone();
    }
}
