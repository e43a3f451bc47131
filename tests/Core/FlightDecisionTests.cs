using Fusion.Core;
using Microsoft.FSharp.Core;
using static Fusion.Tests.CoreFixture;

namespace Fusion.Tests;

/// <summary>The single-flight decisions of the core: <c>Flight.plan</c>, <c>Flight.settle</c> and each caller's own reply and wait
/// (<c>Flight.replyFor</c>, <c>Flight.waitLimit</c>, <c>Flight.timedOut</c>) (SEMANTICS §3 steps 2–7).</summary>
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

    private static Err ErrorOf(Ending ending)
    {
        Assert.True(ending.IsFailed, "expected a failed ending");
        return ending.Error!;
    }

    private static FlightRequest Request(EntryOptions o, bool refresh, FSharpValueOption<Entry> current, FSharpValueOption<object> fallbackDefault) =>
        new(o, Now, Now, 1, refresh, current, fallbackDefault, false);

    [Fact]
    public void Plan_WhenTheEntryIsFresh_AnswersWithoutTheFactory()
    {
        var answer = Flight.plan(Request(FailSafe(), false, Some(FreshEntry), NoDefault));

        Assert.True(answer.IsAnswer);
        Assert.Equal(("fresh", false), Payload(answer.Ending));
    }

    [Fact]
    public void Plan_ForAnEagerRefreshOfAFreshEntry_RunsTheFactoryWithTheEntryAsFallback()
    {
        var run = Run(Options(), FreshEntry, refresh: true);

        Assert.Same(FreshEntry, run.Fallback.Value);
        Assert.Equal(Now, run.StartedAt);
    }

    private static (TimeSpan Limit, bool Soft) WaitLimit(EntryOptions o, Entry? seen, FSharpValueOption<object>? fallbackDefault = null)
    {
        var (limit, soft) = Flight.waitLimit(o, Now, seen is null ? NoEntry : Some(seen), fallbackDefault ?? NoDefault);
        return (limit, soft);
    }

    [Fact]
    public void Plan_WithAStaleEntryAndFailSafe_UsesItAsFallback() =>
        Assert.Same(StaleEntry, Run(FailSafe(), StaleEntry).Fallback.Value);

    [Fact]
    public void WaitLimit_WithAStaleEntryAndFailSafe_IsTheSoftTimeout() =>
        Assert.Equal((TimeSpan.FromSeconds(1), true), WaitLimit(FailSafe(), StaleEntry));

    [Fact]
    public void Plan_WithAStaleEntryButFailSafeOff_HasNoFallback() =>
        Assert.True(Run(Options(new() { FactorySoftTimeout = TimeSpan.FromSeconds(1) }), StaleEntry).Fallback.IsNone);

    [Fact]
    public void WaitLimit_WithAStaleEntryButFailSafeOff_IgnoresTheSoftTimeout() =>
        Assert.Equal((Infinite, false), WaitLimit(Options(new() { FactorySoftTimeout = TimeSpan.FromSeconds(1) }), StaleEntry));

    [Fact]
    public void Plan_WithADeadEntry_TreatsItAsAbsent()
    {
        Assert.True(Run(FailSafe(), DeadEntry).Fallback.IsNone);
        Assert.Equal((TimeSpan.FromSeconds(3), false), WaitLimit(FailSafe(), DeadEntry));
    }

    [Fact]
    public void WaitLimit_WhenTheFallbackUsedItsCycles_IsTheHardTimeout() =>
        Assert.Equal((TimeSpan.FromSeconds(3), false), WaitLimit(FailSafe(maxCycles: 1), Entry("stale", StaleEntry.Timestamp, StaleEntry.LogicalExpiry, StaleEntry.PhysicalExpiry, cycles: 1)));

    [Fact]
    public void Plan_WithAFailSafeDefault_KeepsItOnlyWhenFailSafeIsOn()
    {
        Assert.Equal("d", Run(FailSafe(), null, fallbackDefault: Default("d")).Default.Value);
        Assert.Equal((TimeSpan.FromSeconds(1), true), WaitLimit(FailSafe(), null, fallbackDefault: Default("d")));
        Assert.True(Run(Options(), null, fallbackDefault: Default("d")).Default.IsNone);
    }

    [Fact]
    public void Plan_ForARefreshThatMayNotCompleteInTheBackground_SetsItsHardTimeoutAsDeadline()
    {
        var o = Options(new() { FactoryHardTimeout = TimeSpan.FromSeconds(3), AllowTimedOutFactoryBackgroundCompletion = false });

        Assert.Equal(TimeSpan.FromSeconds(3), Run(o, FreshEntry, refresh: true).Deadline);
        Assert.Equal(Infinite, Run(o, StaleEntry).Deadline); // a caller's flight: its callers' timeouts bound their waits
        Assert.Equal(Infinite, Run(Options(new() { FactoryHardTimeout = TimeSpan.FromSeconds(3) }), FreshEntry, refresh: true).Deadline);
    }

    [Fact]
    public void Settle_OnSuccess_RepliesWithTheValueAndWritesAFreshEntryStampedWithTheFlightStart()
    {
        var o = FailSafe();
        var run = Run(o, StaleEntry);

        var s = Flight.settle(o, Now + 7, jitter: 3, run, Outcome.NewSucceeded("new", ValidatorModule.none));

        Assert.Equal(("new", false), Payload(s.Ending));
        var put = PutOf(s.Change);
        Assert.Equal((Now, Now + 7 + 10 * Second + 3, 0), (put.Timestamp, put.LogicalExpiry, put.FailSafeCycles));
    }

    [Fact]
    public void Settle_OnFailureWithAStaleFallback_ActivatesFailSafe()
    {
        var o = FailSafe(throttleSeconds: 5);

        var s = Flight.settle(o, Now, 0, Run(o, StaleEntry), Outcome.NewFailed(Err.Of("down")));

        Assert.Equal(Err.Of("down"), ErrorOf(s.Ending));
        var put = PutOf(s.Change);
        Assert.Equal((Now + 5 * Second, 1), (put.LogicalExpiry, put.FailSafeCycles));
        // The leader, and any caller with fail-safe, finds the activation in L1.
        Assert.Equal(("stale", true), Payload(Flight.replyFor(o, Now, Some(put), NoDefault, s.Ending)));
    }

    [Fact]
    public void Settle_OnFailureWithAFallbackStillValid_ServesItUnchanged()
    {
        var o = Options();

        var s = Flight.settle(o, Now, 0, Run(o, FreshEntry, refresh: true), Outcome.NewFailed(Err.Of("down")));

        Assert.True(s.Change.IsKeep);
        Assert.Equal(("fresh", false), Payload(Flight.replyFor(o, Now, Some(FreshEntry), NoDefault, s.Ending)));
    }

    [Fact]
    public void Settle_OnFailureWhenTheFallbackDiedMeanwhile_RepliesWithTheError()
    {
        var o = FailSafe();
        var run = Run(o, StaleEntry);

        var s = Flight.settle(o, StaleEntry.PhysicalExpiry, 0, run, Outcome.NewFailed(Err.Of("down")));

        Assert.Equal(Err.Of("down"), ErrorOf(Flight.replyFor(o, StaleEntry.PhysicalExpiry, Some(StaleEntry), NoDefault, s.Ending)));
        Assert.True(s.Change.IsKeep);
    }

    [Fact]
    public void Settle_OnFailureWithOnlyADefault_ServesItAndStoresItAsADefaultedEntry()
    {
        var o = FailSafe();

        var s = Flight.settle(o, Now, 0, Run(o, null, fallbackDefault: Default("d")), Outcome.NewFailed(Err.Of("down")));

        var put = PutOf(s.Change);
        Assert.Equal(1, put.FailSafeCycles);
        Assert.Equal(("d", true), Payload(Flight.replyFor(o, Now, Some(put), NoDefault, s.Ending)));
    }

    [Fact]
    public void Settle_OnCancellation_RepliesCancelledAndLeavesL1Alone()
    {
        var o = FailSafe();

        var s = Flight.settle(o, Now, 0, Run(o, StaleEntry), Outcome.Cancelled);

        Assert.IsType<Err.Cancelled>(ErrorOf(s.Ending));
        Assert.True(s.Change.IsKeep);
    }

    [Fact]
    public void ReplyFor_ACallerWithoutFailSafe_NeverGetsTheStaleValueALeaderWithFailSafeActivated()
    {
        var leader = FailSafe();
        var s = Flight.settle(leader, Now, 0, Run(leader, StaleEntry), Outcome.NewFailed(Err.Of("down")));
        var activated = PutOf(s.Change);

        Assert.Equal(("stale", true), Payload(Flight.replyFor(leader, Now, Some(activated), NoDefault, s.Ending)));
        Assert.Equal(Err.Of("down"), ErrorOf(Flight.replyFor(Options(), Now, Some(activated), NoDefault, s.Ending)));
    }

    [Fact]
    public void ReplyFor_AValueServedByFailSafe_IsAnErrorForACallerWithoutFailSafe()
    {
        var ending = Ending.NewValue("throttled", true);

        Assert.IsType<Err.FactoryFailed>(ErrorOf(Flight.replyFor(Options(), Now, NoEntry, NoDefault, ending)));
        Assert.Equal(("throttled", true), Payload(Flight.replyFor(FailSafe(), Now, NoEntry, NoDefault, ending)));
    }

    [Fact]
    public void ReplyFor_ACallerWithFailSafe_FallsBackOnTheStaleEntryEvenIfTheLeaderHadNoFailSafe()
    {
        var leader = Options();
        var s = Flight.settle(leader, Now, 0, Run(leader, StaleEntry), Outcome.NewFailed(Err.Of("down")));

        Assert.True(s.Change.IsKeep);
        Assert.Equal(("stale", true), Payload(Flight.replyFor(FailSafe(), Now, Some(StaleEntry), NoDefault, s.Ending)));
        Assert.Equal(("d", true), Payload(Flight.replyFor(FailSafe(), Now, NoEntry, Default("d"), s.Ending)));
        Assert.Equal(Err.Of("down"), ErrorOf(Flight.replyFor(Options(), Now, NoEntry, Default("d"), s.Ending)));
    }

    [Fact]
    public void TimedOut_AtTheSoftTimeout_ServesTheFallbackAndActivatesFailSafe()
    {
        var o = Options(new() { Duration = TimeSpan.FromSeconds(10), IsFailSafeEnabled = true, FactorySoftTimeout = TimeSpan.FromSeconds(1) });

        var (reply, change) = Flight.timedOut(o, Now, Some(StaleEntry), NoDefault, Now, 1L, soft: true);

        Assert.Equal(("stale", true), Payload(reply));
        Assert.Equal(1, PutOf(change).FailSafeCycles);
    }

    [Fact]
    public void TimedOut_AtTheHardTimeoutWithoutFallback_RepliesTimedOutWithTheCallersHardTimeout()
    {
        var (reply, change) = Flight.timedOut(FailSafe(), Now, NoEntry, NoDefault, Now, 1L, soft: false);

        Assert.Equal(TimeSpan.FromSeconds(3), Assert.IsType<Err.FactoryTimedOut>(ErrorOf(reply)).After);
        Assert.True(change.IsKeep);
    }

    [Fact]
    public void Settle_ARefreshPastItsDeadline_EndsTimedOutWithoutChangingL1()
    {
        var o = Options(new() { FactoryHardTimeout = TimeSpan.FromSeconds(3), AllowTimedOutFactoryBackgroundCompletion = false });

        var s = Flight.settle(o, Now, 0, Run(o, FreshEntry, refresh: true), Outcome.TimedOut);

        Assert.Equal(TimeSpan.FromSeconds(3), Assert.IsType<Err.FactoryTimedOut>(ErrorOf(s.Ending)).After);
        Assert.True(s.Change.IsKeep);
    }

    [Fact]
    public void Settle_ALateSuccess_CarriesTheFlightStartSoAnyLaterWriteWins()
    {
        var o = Options();
        var run = Run(o, null);
        var later = Entry("set later", Now + 1, Now + 10 * Second, Now + 10 * Second);

        var settlement = Flight.settle(o, Now + 5 * Second, 0, run, Outcome.NewSucceeded("late", ValidatorModule.none));
        var entry = PutOf(settlement.Change);

        Assert.Equal(Now, entry.Timestamp);
        Assert.False(Lifecycle.supersedes(Some(later), entry));
    }

    [Fact]
    public void Settle_NotModified_WritesTheFallbacksValueAgain_FreshAndStampedWithTheFlightStart_KeepingItsValidator()
    {
        var o = FailSafe();
        var stale = StaleEntry;
        var validated = new Entry(stale.Value, stale.Timestamp, stale.Origin, stale.LogicalExpiry, stale.PhysicalExpiry, stale.EagerRefreshAt,
            stale.IsStale, stale.FailSafeCycles, EntryMetaModule.ofParts(["t"], new Validator("\"a\"", 42)));
        var plan = Flight.plan(new FlightRequest(o, Now, Now, 1, false, Some(validated), NoDefault, true));
        Assert.True(plan.IsReadDistributed);
        var run = RunOf(Flight.afterDistributedRead(o, Now, plan.Run, NoEntry)); // an L2 miss

        var s = Flight.settle(o, Now + 7, jitter: 0, run, Outcome.NewNotModified(new Validator(null, 99)));

        Assert.Equal(("stale", false), Payload(s.Ending));
        var put = PutOf(s.Change);
        Assert.Equal((Now, false, Now + 7 + 10 * Second), (put.Timestamp, put.IsStale, put.LogicalExpiry));
        Assert.Equal(new Validator("\"a\"", 99), put.Validator); // the ETag kept, the new LastModified taken
        var l2 = Assert.IsType<L2Change.Put>(s.Distributed).Entry;
        Assert.Equal(("stale", "\"a\""), (l2.Value, l2.Validator.ETag));
        Assert.True(s.Notify.IsSome);
    }

    [Fact]
    public void Settle_NotModified_WithoutAFallback_IsAFailure()
    {
        var o = Options();

        var s = Flight.settle(o, Now, 0, Run(o, null), Outcome.NewNotModified(ValidatorModule.none));

        Assert.Contains("not modified", Assert.IsType<Err.FactoryFailed>(ErrorOf(s.Ending)).Reason);
        Assert.True(s.Change.IsKeep);
    }

    [Fact]
    public void Settle_WithSkipMemoryCacheWrite_DropsTheOlderCopyOnSuccess_AndCarriesTheActivationOnFailure()
    {
        var o = WithFailSafe(new FusionCacheEntryOptions { SkipMemoryCacheWrite = true });

        var success = Flight.settle(o, Now, 0, Run(o, StaleEntry), Outcome.NewSucceeded("new", ValidatorModule.none));
        Assert.True(success.Change.IsDrop);

        var failure = Flight.settle(o, Now, 0, Run(o, StaleEntry), Outcome.NewFailed(Err.Of("down")));
        Assert.True(failure.Change.IsKeep);
        var carried = failure.Ending.Fallback.Value;
        Assert.Equal(("stale", true, 1), (carried.Value, carried.IsStale, carried.FailSafeCycles));
        // L1 holds nothing of it, yet a caller with fail-safe gets the stale value, one without the error.
        Assert.Equal(("stale", true), Payload(Flight.replyFor(o, Now, NoEntry, NoDefault, failure.Ending)));
        Assert.Equal(Err.Of("down"), ErrorOf(Flight.replyFor(Options(), Now, NoEntry, NoDefault, failure.Ending)));
    }

    [Fact]
    public void SkipMemoryCacheRead_LeavesL1OutOfThePlanTheReplyAndTheWait()
    {
        var o = WithFailSafe(new FusionCacheEntryOptions { SkipMemoryCacheRead = true });

        Assert.True(Flight.plan(Request(o, false, Some(FreshEntry), NoDefault)).IsRunFactory);
        Assert.True(Run(o, StaleEntry).Fallback.IsNone);
        Assert.Equal(Err.Of("down"), ErrorOf(Flight.replyFor(o, Now, Some(StaleEntry), NoDefault, Ending.NewFailed(Err.Of("down")))));
        Assert.False(Flight.waitLimit(o, Now, Some(StaleEntry), NoDefault).Item2); // no fallback: no soft timeout
    }

    /// <summary>The fail-safe options of <see cref="CoreFixture.FailSafe"/> with <paramref name="overrides"/> laid over them.</summary>
    private static EntryOptions WithFailSafe(FusionCacheEntryOptions overrides) => overrides.Resolve(FailSafe());

    private static (object Payload, bool IsStale) Payload(Reply reply)
    {
        Assert.True(reply.IsValue, "expected a value reply");
        return (reply.Payload!, reply.IsStale);
    }

    private static (object Payload, bool IsStale) Payload(Ending ending)
    {
        Assert.True(ending.IsValue, "expected a value ending");
        return (ending.Payload!, ending.IsStale);
    }
}
