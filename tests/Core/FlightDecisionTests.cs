using Fusion.Core;
using Microsoft.FSharp.Core;
using static Fusion.Tests.CoreFixture;

namespace Fusion.Tests;

/// <summary>The single-flight decisions of the core: <c>Flight.plan</c> and <c>Flight.settle</c> (SEMANTICS §3 steps 2–6).</summary>
public sealed class FlightDecisionTests
{
    private static readonly TimeSpan Infinite = Timeout.InfiniteTimeSpan;
    private static readonly Entry FreshEntry = Entry("fresh", Now - 1, logical: Now + 10 * Second, physical: Now + 100 * Second);
    private static readonly Entry StaleEntry = Entry("stale", Now - 20 * Second, logical: Now - Second, physical: Now + 100 * Second);
    private static readonly Entry DeadEntry = Entry("dead", Now - 200 * Second, logical: Now - 100 * Second, physical: Now);

    /// <summary>The run the core plans for <paramref name="current"/> (null for no entry); the plan must be to run the factory.</summary>
    private static FactoryRun Run(EntryOptions o, Entry? current, bool refresh = false, FSharpValueOption<object>? fallbackDefault = null) =>
        RunOf(Flight.plan(Request(o, refresh, current is null ? NoEntry : Some(current), fallbackDefault ?? NoDefault)));

    private static FactoryRun RunOf(FlightPlan plan)
    {
        Assert.True(plan.IsRunFactory, $"expected a factory run, got tag {plan.Tag}");
        return plan.Run;
    }

    private static Err ErrorOf(Reply reply)
    {
        Assert.True(reply.IsError, "expected an error reply");
        return reply.Reason!;
    }

    private static FlightRequest Request(EntryOptions o, bool refresh, FSharpValueOption<Entry> current, FSharpValueOption<object> fallbackDefault) =>
        new(o, Now, Now, 1, refresh, current, fallbackDefault, false);

    [Fact]
    public void Plan_WhenTheEntryIsFresh_AnswersWithoutTheFactory()
    {
        var answer = Flight.plan(Request(FailSafe(), false, Some(FreshEntry), NoDefault));

        Assert.True(answer.IsAnswer);
        Assert.Equal(("fresh", false), Payload(answer.Reply));
    }

    [Fact]
    public void Plan_ForAnEagerRefreshOfAFreshEntry_RunsTheFactoryWithTheEntryAsFallback()
    {
        var run = Run(Options(), FreshEntry, refresh: true);

        Assert.Same(FreshEntry, run.Fallback.Value);
        Assert.Equal(Now, run.StartedAt);
    }

    [Fact]
    public void Plan_WithAStaleEntryAndFailSafe_UsesItAsFallbackAndAppliesTheSoftTimeout()
    {
        var run = Run(FailSafe(), StaleEntry);

        Assert.Same(StaleEntry, run.Fallback.Value);
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)), (run.SoftTimeout, run.HardTimeout));
    }

    [Fact]
    public void Plan_WithAStaleEntryButFailSafeOff_HasNoFallbackAndNoSoftTimeout()
    {
        var run = Run(Options(new() { FactorySoftTimeout = TimeSpan.FromSeconds(1) }), StaleEntry);

        Assert.True(run.Fallback.IsNone);
        Assert.Equal(Infinite, run.SoftTimeout);
    }

    [Fact]
    public void Plan_WithADeadEntry_TreatsItAsAbsent()
    {
        var run = Run(FailSafe(), DeadEntry);

        Assert.True(run.Fallback.IsNone);
        Assert.Equal(Infinite, run.SoftTimeout);
    }

    [Fact]
    public void Plan_WhenTheFallbackUsedItsCycles_DropsTheSoftTimeout() =>
        Assert.Equal(Infinite, Run(FailSafe(maxCycles: 1), Entry("stale", StaleEntry.Timestamp, StaleEntry.LogicalExpiry, StaleEntry.PhysicalExpiry, cycles: 1)).SoftTimeout);

    [Fact]
    public void Plan_WithAFailSafeDefault_KeepsItOnlyWhenFailSafeIsOn()
    {
        Assert.Equal("d", Run(FailSafe(), null, fallbackDefault: Default("d")).Default.Value);
        Assert.Equal(TimeSpan.FromSeconds(1), Run(FailSafe(), null, fallbackDefault: Default("d")).SoftTimeout);
        Assert.True(Run(Options(), null, fallbackDefault: Default("d")).Default.IsNone);
    }

    [Fact]
    public void Settle_OnSuccess_RepliesWithTheValueAndWritesAFreshEntryStampedWithTheFlightStart()
    {
        var o = FailSafe();
        var run = Run(o, StaleEntry);

        var s = Flight.settle(o, Now + 7, jitter: 3, run, Outcome.NewSucceeded("new"));

        Assert.Equal(("new", false), Payload(s.Reply));
        var put = Assert.IsType<L1Change.Put>(s.Change);
        Assert.Equal((Now, Now + 7 + 10 * Second + 3, 0), (put.Entry.Timestamp, put.Entry.LogicalExpiry, put.Entry.FailSafeCycles));
        Assert.False(s.KeepFactoryRunning);
    }

    [Fact]
    public void Settle_OnFailureWithAStaleFallback_ActivatesFailSafe()
    {
        var o = FailSafe(throttleSeconds: 5);

        var s = Flight.settle(o, Now, 0, Run(o, StaleEntry), Outcome.NewFailed(Err.Of("down")));

        Assert.Equal(("stale", true), Payload(s.Reply));
        var put = Assert.IsType<L1Change.Put>(s.Change);
        Assert.Equal((Now + 5 * Second, 1), (put.Entry.LogicalExpiry, put.Entry.FailSafeCycles));
    }

    [Fact]
    public void Settle_OnFailureWithAFallbackStillValid_ServesItUnchanged()
    {
        var o = Options();

        var s = Flight.settle(o, Now, 0, Run(o, FreshEntry, refresh: true), Outcome.NewFailed(Err.Of("down")));

        Assert.Equal(("fresh", false), Payload(s.Reply));
        Assert.True(s.Change.IsKeep);
    }

    [Fact]
    public void Settle_OnFailureWhenTheFallbackDiedMeanwhile_RepliesWithTheError()
    {
        var o = FailSafe();
        var run = Run(o, StaleEntry);

        var s = Flight.settle(o, StaleEntry.PhysicalExpiry, 0, run, Outcome.NewFailed(Err.Of("down")));

        Assert.Equal(Err.Of("down"), ErrorOf(s.Reply));
        Assert.True(s.Change.IsKeep);
    }

    [Fact]
    public void Settle_OnFailureWithOnlyADefault_ServesItAndStoresItAsADefaultedEntry()
    {
        var o = FailSafe();

        var s = Flight.settle(o, Now, 0, Run(o, null, fallbackDefault: Default("d")), Outcome.NewFailed(Err.Of("down")));

        Assert.Equal(("d", true), Payload(s.Reply));
        Assert.Equal(1, Assert.IsType<L1Change.Put>(s.Change).Entry.FailSafeCycles);
    }

    [Fact]
    public void Settle_OnCancellation_RepliesCancelledAndLeavesL1Alone()
    {
        var o = FailSafe();

        var s = Flight.settle(o, Now, 0, Run(o, StaleEntry), Outcome.Cancelled);

        Assert.IsType<Err.Cancelled>(ErrorOf(s.Reply));
        Assert.True(s.Change.IsKeep);
        Assert.False(s.KeepFactoryRunning);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Settle_OnSoftTimeout_ServesTheFallbackAndKeepsTheFactoryOnlyIfAllowed(bool allowed)
    {
        var o = Options(new() { Duration = TimeSpan.FromSeconds(10), IsFailSafeEnabled = true, FactorySoftTimeout = TimeSpan.FromSeconds(1), AllowTimedOutFactoryBackgroundCompletion = allowed });

        var s = Flight.settle(o, Now, 0, Run(o, StaleEntry), Outcome.SoftTimedOut);

        Assert.Equal(("stale", true), Payload(s.Reply));
        Assert.Equal(allowed, s.KeepFactoryRunning);
    }

    [Fact]
    public void Settle_OnHardTimeoutWithoutFallback_RepliesTimedOutWithTheHardTimeout()
    {
        var o = FailSafe();

        var s = Flight.settle(o, Now, 0, Run(o, null), Outcome.HardTimedOut);

        Assert.Equal(TimeSpan.FromSeconds(3), Assert.IsType<Err.FactoryTimedOut>(ErrorOf(s.Reply)).After);
        Assert.True(s.KeepFactoryRunning);
    }

    [Fact]
    public void CompletedInBackground_CarriesTheFlightStartSoAnyLaterWriteWins()
    {
        var o = Options();
        var run = Run(o, null);
        var later = Entry("set later", Now + 1, Now + 10 * Second, Now + 10 * Second);

        var settlement = Flight.completedInBackground(o, Now + 5 * Second, 0, run, "late");
        var entry = Assert.IsType<L1Change.Put>(settlement.Change).Entry;

        Assert.Equal(Now, entry.Timestamp);
        Assert.False(Lifecycle.supersedes(Some(later), entry));
    }

    private static (object Payload, bool IsStale) Payload(Reply reply)
    {
        Assert.True(reply.IsValue, "expected a value reply");
        return (reply.Payload!, reply.IsStale);
    }
}
