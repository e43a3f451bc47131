using System.Globalization;

namespace Fusion.Tests;

/// <summary>
/// SEMANTICS §2: invalid options are rejected when they are given, with an <see cref="ArgumentOutOfRangeException"/>
/// whose message names the option and the value; valid edge values are accepted as they are.
/// </summary>
public sealed class OptionValidationTests
{
    private static readonly TimeSpan Negative = TimeSpan.FromSeconds(-1);

    private static void AssertRejected(Action give, string option, string value)
    {
        var thrown = Assert.Throws<ArgumentOutOfRangeException>(give);
        Assert.Equal(option, thrown.ParamName);
        Assert.Contains(option, thrown.Message, StringComparison.Ordinal);
        Assert.Contains(value, thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duration_WhenNegative_IsRejected() =>
        AssertRejected(() => _ = new FusionCacheEntryOptions { Duration = Negative }, "Duration", Negative.ToString());

    [Fact]
    public void FailSafeMaxDuration_WhenNegative_IsRejected() =>
        AssertRejected(() => _ = new FusionCacheEntryOptions { FailSafeMaxDuration = Negative }, "FailSafeMaxDuration", Negative.ToString());

    [Fact]
    public void FailSafeThrottleDuration_WhenNegative_IsRejected() =>
        AssertRejected(() => _ = new FusionCacheEntryOptions { FailSafeThrottleDuration = Negative }, "FailSafeThrottleDuration", Negative.ToString());

    [Fact]
    public void JitterMaxDuration_WhenNegative_IsRejected() =>
        AssertRejected(() => _ = new FusionCacheEntryOptions { JitterMaxDuration = Negative }, "JitterMaxDuration", Negative.ToString());

    [Fact]
    public void MaxFailSafeCycles_WhenNegative_IsRejected() =>
        AssertRejected(() => _ = new FusionCacheEntryOptions { MaxFailSafeCycles = -1 }, "MaxFailSafeCycles", "-1");

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    [InlineData(-0.5)]
    [InlineData(1.5)]
    public void EagerRefreshThreshold_OutsideZeroToOne_IsRejected(double threshold) =>
        AssertRejected(() => _ = new FusionCacheEntryOptions { EagerRefreshThreshold = threshold },
            "EagerRefreshThreshold", threshold.ToString(CultureInfo.CurrentCulture));

    [Fact]
    public void FactorySoftTimeout_WhenZero_IsRejected() =>
        AssertRejected(() => _ = new FusionCacheEntryOptions { FactorySoftTimeout = TimeSpan.Zero }, "FactorySoftTimeout", TimeSpan.Zero.ToString());

    [Fact]
    public void FactoryHardTimeout_WhenZero_IsRejected() =>
        AssertRejected(() => _ = new FusionCacheEntryOptions { FactoryHardTimeout = TimeSpan.Zero }, "FactoryHardTimeout", TimeSpan.Zero.ToString());

    [Fact]
    public void FactoryHardTimeout_WhenNegativeButNotInfinite_IsRejected() =>
        AssertRejected(() => _ = new FusionCacheEntryOptions { FactoryHardTimeout = Negative }, "FactoryHardTimeout", Negative.ToString());

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void Builder_WithCapacityBelowOne_IsRejected(int capacity) =>
        AssertRejected(() => new FusionCacheBuilder().WithCapacity(capacity), "capacity", capacity.ToString(CultureInfo.InvariantCulture));

    [Fact]
    public void Builder_WithInvalidDefaults_IsRejectedWhenTheyAreGiven()
    {
        AssertRejected(() => new FusionCacheBuilder().WithDuration(Negative), "Duration", Negative.ToString());
        AssertRejected(() => new FusionCacheBuilder().WithFailSafe(maxCycles: -1), "MaxFailSafeCycles", "-1");
        AssertRejected(() => new FusionCacheBuilder().WithFactoryTimeouts(soft: TimeSpan.Zero), "FactorySoftTimeout", TimeSpan.Zero.ToString());
    }

    [Fact]
    public void Options_AtTheirValidEdges_AreAcceptedUnchanged()
    {
        var options = new FusionCacheEntryOptions
        {
            Duration = TimeSpan.Zero,
            FactorySoftTimeout = Timeout.InfiniteTimeSpan,
            FactoryHardTimeout = TimeSpan.FromTicks(1),
            EagerRefreshThreshold = 0.999,
            MaxFailSafeCycles = 0,
            JitterMaxDuration = TimeSpan.Zero,
        };

        Assert.Equal(TimeSpan.Zero, options.Duration);
        Assert.Equal(Timeout.InfiniteTimeSpan, options.FactorySoftTimeout);
        Assert.Equal(TimeSpan.FromTicks(1), options.FactoryHardTimeout);
        Assert.Equal(0.999, options.EagerRefreshThreshold);
        Assert.Equal(0, options.MaxFailSafeCycles);
    }

    [Fact]
    public void Options_WhenOnlySomeAreSet_FollowTheCacheDefaultsForTheRest()
    {
        using var cache = new FusionCacheBuilder().WithDuration(TimeSpan.FromMinutes(3)).WithFailSafe().Build();

        var resolved = new FusionCacheEntryOptions { FactoryHardTimeout = TimeSpan.FromSeconds(2) }.Resolve(cache.Defaults);

        Assert.Equal(TimeSpan.FromMinutes(3), resolved.Duration);
        Assert.True(resolved.IsFailSafeEnabled);
        Assert.Equal(TimeSpan.FromSeconds(2), resolved.FactoryHardTimeout);
    }
}
