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
    private static readonly long TwentyMs = TimeSpan.FromMilliseconds(20).Ticks;

    [Fact]
    public void Ticks_IsNeverAheadOfThePreciseClock_NorFarBehindIt()
    {
        var ticker = new Ticker(checkEveryTicks: 1000);

        for (var i = 0; i < 50; i++)
        {
            var ticks = ticker.Ticks;
            var precise = Ticker.PreciseTicks();
            Assert.InRange(ticks, precise - TickerSlack.Behind, precise);
            Thread.Sleep(2);
        }
    }

    [Fact]
    public async Task Ticks_Advances_WithoutAnythingButReads()
    {
        var ticker = new Ticker(checkEveryTicks: 1000);
        var first = ticker.Ticks;

        await Eventually.Assert(() => ticker.Ticks >= first + TwentyMs, "the ticker advanced by 20 ms");
    }

    [Fact]
    public async Task AnIdleTicker_Parks_AndTheNextReadRestartsIt()
    {
        var ticker = new Ticker(checkEveryTicks: 5);
        _ = ticker.Ticks;
        Assert.True(ticker.IsTicking);

        // IsTicking does not count as a read: with no reader the thread parks at its next check.
        await Eventually.Assert(() => !ticker.IsTicking, "the idle ticker parked");

        var before = Ticker.PreciseTicks();
        var ticks = ticker.Ticks; // parked: read from the precise clock, and the thread starts again
        Assert.InRange(ticks, before, before + TickerSlack.Behind);
        Assert.True(ticker.IsTicking);
        Assert.Equal(2, ticker.Starts);
        await Eventually.Assert(() => ticker.Ticks >= ticks + TwentyMs, "the restarted ticker advanced by 20 ms");
    }

    [Fact]
    public void ATickerThatIsRead_KeepsTicking()
    {
        var ticker = new Ticker(checkEveryTicks: 50);
        var clock = Stopwatch.StartNew();

        while (clock.ElapsedMilliseconds < 300)
        {
            _ = ticker.Ticks;
            Thread.Sleep(1);
        }

        Assert.Equal(1, ticker.Starts); // a park would have made the next read start it again
        Assert.True(ticker.IsTicking);
    }

    [Fact]
    public void Constructor_RejectsAZeroCheckInterval() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new Ticker(checkEveryTicks: 0));
}
