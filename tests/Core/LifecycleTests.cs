using Fusion.Core;
using static Fusion.Tests.CoreFixture;

namespace Fusion.Tests;

/// <summary>The entry transitions of the core: written, activated, defaulted, expire, supersedes.</summary>
public sealed class LifecycleTests
{
    [Fact]
    public void Written_WithFailSafeOff_ExpiresPhysicallyWithItsLogicalExpiryJitterIncluded()
    {
        var entry = Lifecycle.written(Options(new() { Duration = TimeSpan.FromSeconds(10) }), Now, jitter: 7, timestamp: Now - 3, origin: 1, "v");

        Assert.Equal(Now + 10 * Second + 7, entry.LogicalExpiry);
        Assert.Equal(entry.LogicalExpiry, entry.PhysicalExpiry);
        Assert.Equal(Ticks.Never, entry.EagerRefreshAt);
        Assert.Equal(Now - 3, entry.Timestamp);
        Assert.Equal((false, 0), (entry.IsStale, entry.FailSafeCycles));
    }

    [Fact]
    public void Written_WithFailSafeOn_LivesPhysicallyForFailSafeMaxDuration()
    {
        var entry = Lifecycle.written(FailSafe(durationSeconds: 10, maxSeconds: 100), Now, 0, Now, origin: 1, "v");

        Assert.Equal(Now + 100 * Second, entry.PhysicalExpiry);
    }

    [Fact]
    public void Written_WhenFailSafeMaxDurationIsBelowDurationPlusJitter_KeepsPhysicalAtOrAfterLogical()
    {
        var entry = Lifecycle.written(FailSafe(durationSeconds: 10, maxSeconds: 1), Now, jitter: 5 * Second, Now, origin: 1, "v");

        Assert.Equal(Now + 15 * Second, entry.LogicalExpiry);
        Assert.True(entry.PhysicalExpiry >= entry.LogicalExpiry);
    }

    [Fact]
    public void Written_WithAnEagerThreshold_SetsTheRefreshInstantAsThatFractionOfDuration()
    {
        var entry = Lifecycle.written(Options(new() { Duration = TimeSpan.FromSeconds(10), EagerRefreshThreshold = 0.25 }), Now, 0, Now, origin: 1, "v");

        Assert.Equal(Now + 10 * Second / 4, entry.EagerRefreshAt);
    }

    [Fact]
    public void Written_WithAHugeDuration_SaturatesInsteadOfOverflowing()
    {
        var entry = Lifecycle.written(Options(new() { Duration = TimeSpan.MaxValue }), Now, 0, Now, origin: 1, "v");

        Assert.Equal(Ticks.Never, entry.LogicalExpiry);
        Assert.True(EntryModule.classify(Now + 1_000 * Second, entry).IsFresh);
    }

    [Fact]
    public void Activated_ServesTheFallbackForTheThrottleMarkedStaleWithOneMoreCycle()
    {
        var fallback = Entry("v", Now - 50, logical: Now - 1, physical: Now + 100 * Second, cycles: 2);

        var next = Lifecycle.activated(FailSafe(throttleSeconds: 5), Now, fallback);

        Assert.Equal(Now + 5 * Second, next.LogicalExpiry);
        Assert.Equal(fallback.PhysicalExpiry, next.PhysicalExpiry);
        Assert.Equal((true, 3, Ticks.Never), (next.IsStale, next.FailSafeCycles, next.EagerRefreshAt));
        Assert.Equal((fallback.Value, fallback.Timestamp), (next.Value, next.Timestamp));
    }

    [Fact]
    public void Activated_NeverReachesPastThePhysicalExpiry()
    {
        var fallback = Entry("v", Now - 50, logical: Now - 1, physical: Now + Second);

        Assert.Equal(Now + Second, Lifecycle.activated(FailSafe(throttleSeconds: 30), Now, fallback).LogicalExpiry);
    }

    [Fact]
    public void Defaulted_IsAStaleEntryValidForTheThrottleWithOneCycle()
    {
        var entry = Lifecycle.defaulted(FailSafe(throttleSeconds: 5), Now, timestamp: Now - 2, origin: 1, "d");

        Assert.Equal((Now + 5 * Second, true, 1, Now - 2), (entry.LogicalExpiry, entry.IsStale, entry.FailSafeCycles, entry.Timestamp));
        Assert.True(entry.PhysicalExpiry >= entry.LogicalExpiry);
    }

    [Fact]
    public void Expire_OnAValidEntry_MakesItStaleNowAndKeepsItsPhysicalExpiry()
    {
        var entry = Entry("v", Now - 5, logical: Now + 10, physical: Now + 20, eager: Now + 2);

        var put = PutOf(Lifecycle.expire(Now, entry));

        Assert.True(EntryModule.classify(Now, put).IsStale);
        Assert.Equal((Now + 20, Ticks.Never), (put.PhysicalExpiry, put.EagerRefreshAt));
    }

    [Fact]
    public void Expire_OnAStaleEntry_KeepsIt() =>
        Assert.True(Lifecycle.expire(Now, Entry("v", 0, logical: Now - 1, physical: Now + 1)).IsKeep);

    [Fact]
    public void Expire_OnADeadEntry_LeavesIt() =>
        // A Dead entry is absent already.
        Assert.True(Lifecycle.expire(Now, Entry("v", 0, logical: Now - 2, physical: Now)).IsKeep);

    [Fact]
    public void ApplyRemote_ANewerSet_DropsTheCopy() =>
        Assert.True(Lifecycle.applyRemote(Now, Some(Entry("old", Now - 10, Now + 10, Now + 10)), Remote.NewSet(Now - 5, 1)).IsDrop);

    [Fact]
    public void ApplyRemote_AnOlderSet_KeepsTheCopy() =>
        Assert.True(Lifecycle.applyRemote(Now, Some(Entry("newer", Now - 1, Now + 10, Now + 10)), Remote.NewSet(Now - 5, 1)).IsKeep);

    [Fact]
    public void ApplyRemote_ASetInTheSameTick_IsOrderedByOrigin_AsL2OrdersIt()
    {
        var mine = Entry("mine", Now - 5, Now + 10, Now + 10, origin: 7);
        Assert.True(Lifecycle.applyRemote(Now, Some(mine), Remote.NewSet(Now - 5, 8)).IsDrop);
        Assert.True(Lifecycle.applyRemote(Now, Some(mine), Remote.NewSet(Now - 5, 6)).IsKeep);
        Assert.True(Lifecycle.applyRemote(Now, Some(mine), Remote.NewSet(Now - 5, 7)).IsKeep); // the same write
    }

    [Fact]
    public void Supersedes_LetsOnlyANotOlderEntryReplaceTheCurrentOne()
    {
        var current = Entry("current", timestamp: Now, Now + 10, Now + 10);

        Assert.True(Lifecycle.supersedes(NoEntry, current));
        Assert.True(Lifecycle.supersedes(Some(current), Entry("newer", Now + 1, 0, 0)));
        Assert.False(Lifecycle.supersedes(Some(current), Entry("older", Now - 1, 0, 0)));
        Assert.True(Lifecycle.supersedes(Some(current), Entry("re-store", Now, 0, 0)));
    }

    [Fact]
    public void CanActivateFailSafe_NeedsFailSafeOnAndCyclesBelowTheMaximum()
    {
        Assert.False(Lifecycle.canActivateFailSafe(Options(), 0));
        Assert.True(Lifecycle.canActivateFailSafe(FailSafe(maxCycles: 2), 1));
        Assert.False(Lifecycle.canActivateFailSafe(FailSafe(maxCycles: 2), 2));
    }

    [Fact]
    public void Validate_ListsEveryInvalidOptionByName()
    {
        var d = EntryOptionsModule.Default;
        var bad = new EntryOptions(TimeSpan.FromSeconds(-1), d.IsFailSafeEnabled, d.FailSafeMaxDuration, d.FailSafeThrottleDuration, -3,
            TimeSpan.Zero, d.FactoryHardTimeout, d.AllowTimedOutFactoryBackgroundCompletion,
            Microsoft.FSharp.Core.FSharpValueOption<double>.NewValueSome(double.NaN), d.JitterMaxDuration, d.AllowStaleOnReadOnly,
            d.DistributedCacheDuration, d.DistributedCacheSoftTimeout, d.DistributedCacheHardTimeout, d.AllowBackgroundDistributedCacheOperations,
            d.AllowBackgroundBackplaneOperations, d.SkipDistributedCacheRead, d.SkipDistributedCacheWrite, d.SkipBackplaneNotifications, d.SkipMemoryCacheRead, d.SkipMemoryCacheWrite, d.Tags);

        var messages = EntryOptionsModule.validate(bad);

        Assert.Empty(EntryOptionsModule.validate(d));
        Assert.Equal(4, messages.Length);
        foreach (var name in new[] { "Duration", "MaxFailSafeCycles", "FactorySoftTimeout", "EagerRefreshThreshold" })
            Assert.Contains(messages, m => m.StartsWith(name + " = ", StringComparison.Ordinal));
    }
}
