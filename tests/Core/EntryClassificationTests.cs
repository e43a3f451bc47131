using Fusion.Core;
using static Fusion.Tests.CoreFixture;

namespace Fusion.Tests;

/// <summary>SEMANTICS §1 table: an entry's state is a pure function of the entry and now, boundaries included.</summary>
public sealed class EntryClassificationTests
{
    private static readonly Entry Eager = Entry("v", Now, logical: Now + 10, physical: Now + 20, eager: Now + 5);

    [Theory]
    [InlineData(0, "Fresh")]
    [InlineData(4, "Fresh")]
    [InlineData(5, "RefreshDue")]
    [InlineData(9, "RefreshDue")]
    [InlineData(10, "Stale")]
    [InlineData(19, "Stale")]
    [InlineData(20, "Dead")]
    [InlineData(1_000, "Dead")]
    public void Classify_AtEachInstant_GivesTheStateOfTheTable(long offset, string expected) =>
        Assert.Equal(expected, Name(EntryModule.classify(Now + offset, Eager)));

    [Fact]
    public void Classify_WithoutEagerRefresh_IsFreshUntilTheLogicalExpiry()
    {
        var entry = Entry("v", Now, logical: Now + 10, physical: Now + 20);

        Assert.True(EntryModule.classify(Now + 9, entry).IsFresh);
        Assert.True(EntryModule.classify(Now + 10, entry).IsStale);
    }

    [Fact]
    public void Classify_WhenLogicalEqualsPhysical_GoesFromFreshStraightToDead()
    {
        var entry = Entry("v", Now, logical: Now + 10, physical: Now + 10);

        Assert.True(EntryModule.classify(Now + 9, entry).IsFresh);
        Assert.True(EntryModule.classify(Now + 10, entry).IsDead);
    }

    [Fact]
    public void ClassifyFor_AValueServedByFailSafe_IsStaleForAReaderWithoutFailSafe()
    {
        var served = Entry("v", Now, logical: Now + 10, physical: Now + 100, isStale: true);

        Assert.True(EntryModule.classifyFor(true, Now, served).IsFresh);
        Assert.True(EntryModule.classifyFor(false, Now, served).IsStale);
        Assert.True(EntryModule.classifyFor(false, Now + 100, served).IsDead);
    }

    [Fact]
    public void ClassifyFor_AnOrdinaryEntry_IsClassifiedTheSameForEveryReader()
    {
        Assert.True(EntryModule.classifyFor(false, Now + 9, Eager).Equals(EntryModule.classify(Now + 9, Eager)));
        Assert.True(EntryModule.classifyFor(false, Now + 10, Eager).Equals(EntryModule.classify(Now + 10, Eager)));
    }

    // A C# switch over the struct union, with the unreachable arm the style asks for.
    private static string Name(Freshness state) => state switch
    {
        { IsFresh: true } => "Fresh",
        { IsRefreshDue: true } => "RefreshDue",
        { IsStale: true } => "Stale",
        { IsDead: true } => "Dead",
        _ => throw new System.Diagnostics.UnreachableException(),
    };
}
