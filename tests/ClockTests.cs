using System.Diagnostics;
using Fusion.Runtime;
using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>The system clock as reads see it (wall clock re-anchored once a second, advanced by the ticker).</summary>
public sealed class ClockTests
{
    // The anchor pairs the wall clock with a precise reading: only the time between two reads separates them.
    private static readonly long AheadSlack = TimeSpan.FromMilliseconds(1).Ticks;

    [Fact]
    public void Now_FollowsTheWallClock_AcrossRebases_NeverAheadOfIt()
    {
        var clock = new Clock(TimeProvider.System);
        var elapsed = Stopwatch.StartNew();
        var previous = long.MinValue;

        while (elapsed.ElapsedMilliseconds < 2_200) // two rebases
        {
            var before = DateTime.UtcNow.Ticks;
            var now = clock.Now;
            var after = DateTime.UtcNow.Ticks;

            Assert.InRange(now, before - TickerSlack.Behind, after + AheadSlack);
            Assert.True(now >= previous, "the clock went back");
            previous = now;
            Thread.Sleep(3);
        }
    }

    [Fact]
    public async Task Now_NeverGoesBack_AcrossThreads_AcrossRebases()
    {
        // A reading published by one thread bounds every reading that starts after it, on any thread:
        // a rebase that overwrote a newer anchor with an older one broke this, by the rebaser's stall.
        // Rebasing every millisecond instead of every second makes concurrent rebases common.
        var clock = new Clock(TimeProvider.System, rebaseEvery: TimeSpan.FromMilliseconds(1));
        long highest = 0, backwards = 0;
        var elapsed = Stopwatch.StartNew();

        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            while (elapsed.ElapsedMilliseconds < 1_000)
            {
                var floor = Volatile.Read(ref highest);
                var now = clock.Now;
                if (now < floor) Interlocked.Increment(ref backwards);
                for (var seen = floor; now > seen; seen = Volatile.Read(ref highest))
                    if (Interlocked.CompareExchange(ref highest, now, seen) == seen) break;
            }
        })).ToArray();
        await Task.WhenAll(readers);

        Assert.Equal(0, backwards);
    }

    [Fact]
    public void Stamp_IsStrictlyIncreasing_EvenWithinOneTick_AndAfterObservedStamps()
    {
        var clock = new Clock(TimeProvider.System);
        var now = clock.Now;

        var first = clock.Stamp(now);
        var second = clock.Stamp(now);
        clock.Observe(second + 1_000_000);
        var third = clock.Stamp(now);

        Assert.True(second > first);
        Assert.True(third > second + 1_000_000);
    }
}
