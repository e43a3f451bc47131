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
