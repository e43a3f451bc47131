using System.Diagnostics;
using Fusion.Runtime;
using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>
/// The millisecond ticker the system clock reads on hits. These tests run on real time (the ticker is a
/// thread over the OS clock); their bounds are generous so a loaded machine does not fail them, and each
/// one fails when the ticker stops advancing, runs ahead, or never parks or restarts.
/// </summary>
public sealed class TickerTests
{
    // Far above a tick: what a saturated CI machine may add by not scheduling the ticker's thread.
    private const long SchedulingSlackMs = 200;

    [Fact]
    public void Milliseconds_IsNeverAheadOfTheOsClock_NorFarBehindIt()
    {
        var ticker = new Ticker(checkEveryTicks: 1000);

        for (var i = 0; i < 50; i++)
        {
            var ms = ticker.Milliseconds;
            var os = Environment.TickCount64;
            Assert.InRange(ms, os - SchedulingSlackMs, os);
            Thread.Sleep(2);
        }
    }

    [Fact]
    public async Task Milliseconds_Advances_WithoutAnythingButReads()
    {
        var ticker = new Ticker(checkEveryTicks: 1000);
        var first = ticker.Milliseconds;

        await Eventually.Assert(() => ticker.Milliseconds >= first + 20, "the ticker advanced by 20 ms");
    }

    [Fact]
    public async Task AnIdleTicker_Parks_AndTheNextReadRestartsIt()
    {
        var ticker = new Ticker(checkEveryTicks: 5);
        _ = ticker.Milliseconds;
        Assert.True(ticker.IsTicking);

        // IsTicking does not count as a read: with no reader the thread parks at its next check.
        await Eventually.Assert(() => !ticker.IsTicking, "the idle ticker parked");

        var os = Environment.TickCount64;
        var ms = ticker.Milliseconds; // parked: read from the OS clock, and the thread starts again
        Assert.InRange(ms, os, os + SchedulingSlackMs);
        Assert.True(ticker.IsTicking);
        Assert.Equal(2, ticker.Starts);
        await Eventually.Assert(() => ticker.Milliseconds >= ms + 20, "the restarted ticker advanced by 20 ms");
    }

    [Fact]
    public void ATickerThatIsRead_KeepsTicking()
    {
        var ticker = new Ticker(checkEveryTicks: 50);
        var clock = Stopwatch.StartNew();

        while (clock.ElapsedMilliseconds < 300)
        {
            _ = ticker.Milliseconds;
            Thread.Sleep(1);
        }

        Assert.Equal(1, ticker.Starts); // a park would have made the next read start it again
        Assert.True(ticker.IsTicking);
    }

    [Fact]
    public void Constructor_RejectsAZeroCheckInterval() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new Ticker(checkEveryTicks: 0));
}
