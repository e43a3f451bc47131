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

    private static readonly long Ms = TimeSpan.TicksPerMillisecond;

    /// <summary>A cache on the ticker-based clock over <paramref name="ticker"/>, whose wall clock follows the ticker's
    /// precise reading (from 2030-01-01).</summary>
    private static FusionCache OnTicker(Ticker ticker, TimeSpan duration)
    {
        var start = new DateTime(2030, 1, 1).Ticks;
        return new FusionCacheBuilder()
            .WithClock(origin => new Clock(TimeProvider.System, origin, TimeSpan.FromSeconds(1), ticker, () => start + ticker.Precise()))
            .WithDuration(duration)
            .Build();
    }

    [Fact]
    public void AWallClockThatStepsBack_IsNeverFollowedBack_AndTheLeadItLeavesShrinksToNothing()
    {
        var ticker = Ticker.Manual(0);
        long precise = 0, wall = new DateTime(2030, 1, 1).Ticks;
        var clock = new Clock(TimeProvider.System, 0, TimeSpan.FromSeconds(1), ticker, () => wall);
        void Pass(long ms) { precise += ms * Ms; wall += ms * Ms; ticker.Set(precise, precise); }

        var previous = clock.Now;
        for (var i = 0; i < 20; i++) { Pass(100); previous = Math.Max(previous, clock.Now); }
        Assert.Equal(wall, clock.Now); // following the wall clock

        wall -= TimeSpan.FromSeconds(10).Ticks; // NTP steps the wall clock back 10 s
        var leads = new List<long>();
        for (var i = 0; i < 600; i++) // a minute, read every 100 ms
        {
            Pass(100);
            var now = clock.Now;
            Assert.True(now >= previous, $"the clock went back {(previous - now) / Ms} ms after the step");
            previous = now;
            leads.Add(now - wall);
        }
        Assert.True(leads[0] > 9 * TimeSpan.TicksPerSecond, "the step was followed back at once");
        Assert.True(leads[^1] <= Ms, $"a minute after the step the clock still leads the wall clock by {leads[^1] / Ms} ms");
        // Absorbed at about a third of the time passing: 10 s in about 30 s, not at once and not never.
        var caughtUp = leads.FindIndex(lead => lead <= Ms);
        Assert.InRange(caughtUp, 200, 400);
    }

    [Fact]
    public async Task AStarvedTicker_NeverLetsAHitServeAnEntryPastItsDeadline()
    {
        // The ticker's thread does not run (six busy threads on two cores starved it for up to 130 ms): its reading is
        // frozen while the precise clock goes on. A hit near the entry's deadline must see the precise time.
        var ticker = Ticker.Manual(0);
        using var cache = OnTicker(ticker, TimeSpan.FromMilliseconds(500));
        await cache.Set("k", "old");

        ticker.Set(0, 600 * Ms); // 100 ms past the entry's expiry, the ticker still at 0

        var factory = TestFactory<string>.Returning("new");
        Assert.Equal("new", await Expect.Right(cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task AHitFarFromAnyDeadline_IsServedOnTheCheapClock_EvenWhenItLags()
    {
        // The other side of the bargain: far from a deadline a lagging ticker changes nothing.
        var ticker = Ticker.Manual(0);
        using var cache = OnTicker(ticker, TimeSpan.FromMinutes(1));
        await cache.Set("k", "v");
        ticker.Set(0, 200 * Ms);
        Assert.Equal("v", await Expect.Right(cache.GetOrSet<string>("k", TestFactory<string>.Returning("x").Invoke)));
    }
}
