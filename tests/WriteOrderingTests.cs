using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>
/// Invariant 8 on one node: a factory result carries the instant its flight began, so a Set made after
/// that instant is never undone by the flight's older result. (A Remove leaves no tombstone: docs/semantics.md.)
/// </summary>
public sealed class WriteOrderingTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task FactoryResult_WhenASetHappenedDuringTheFlight_DoesNotOverwriteTheSet()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var factory = TestFactory<string>.Waiting();
        var result = t.Cache.GetOrSet<string>("k", factory.Invoke);
        t.Advance(TimeSpan.FromMilliseconds(1));
        await t.Cache.Set("k", "set during the flight");

        factory[1].Succeed("read before the set");

        Assert.Equal("read before the set", await Expect.Right(result)); // the flight's own callers get its value
        Assert.Equal("set during the flight", await t.Cached<string>("k"));
    }

    [Fact]
    public async Task FactoryResult_WhenASetLandedInTheSameTickTheFlightStarted_DoesNotOverwriteTheSet()
    {
        // The Set is issued after the factory began (so the factory may have read the source before the
        // Set's change), but the clock has not moved: both carry the same timestamp.
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var factory = TestFactory<string>.Waiting();
        var result = t.Cache.GetOrSet<string>("k", factory.Invoke);
        await t.Cache.Set("k", "set after the flight began");

        factory[1].Succeed("read before the set");
        await Eventually.Within(result);

        Assert.Equal("set after the flight began", await t.Cached<string>("k"));
    }

    [Fact]
    public async Task Set_AfterAnEarlierSet_Replaces()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));

        await t.Cache.Set("k", "first");
        await t.Cache.Set("k", "second");

        Assert.Equal("second", await t.Cached<string>("k"));
    }
}
