using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>
/// Tags, RemoveByTag and Clear on one node (SEMANTICS §4b): an entry written with a tag before a RemoveByTag of it (or
/// before a Clear) is absent, or stale with allowFailSafe; one written after is untouched; nothing is scanned.
/// </summary>
public sealed class TagTests
{
    private static FusionCacheEntryOptions Tagged(params string[] tags) => new() { Tags = tags };

    [Fact]
    public async Task RemoveByTag_MakesEveryEntryWithTheTagAbsent_AndLeavesTheOthers()
    {
        using var t = TestCache.Create(b => b.WithDuration(TimeSpan.FromMinutes(1)));
        await t.Cache.Set("a", "1", Tagged("red"));
        await t.Cache.Set("b", "2", Tagged("red", "blue"));
        await t.Cache.Set("c", "3", Tagged("blue"));
        await t.Cache.Set("d", "4");

        await t.Cache.RemoveByTag("red");

        var factory = TestFactory<string>.Returning("new");
        Assert.Equal("new", await Expect.Right(t.Cache.GetOrSet<string>("a", factory.Invoke)));
        Assert.True((await t.Cache.TryGet<string>("b")).IsNone);
        Assert.Equal("3", (await t.Cache.TryGet<string>("c")).IfNone(""));
        Assert.Equal("4", (await t.Cache.TryGet<string>("d")).IfNone(""));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task AnEntryWrittenAfterTheRemoveByTag_IsUntouched()
    {
        using var t = TestCache.Create(b => b.WithDuration(TimeSpan.FromMinutes(1)));
        await t.Cache.Set("a", "old", Tagged("red"));
        await t.Cache.RemoveByTag("red");
        await t.Cache.Set("a", "new", Tagged("red")); // same tick on the fake clock: the stamps still order it after
        Assert.Equal("new", (await t.Cache.TryGet<string>("a")).IfNone(""));
    }

    [Fact]
    public async Task RemoveByTag_WithAllowFailSafe_LeavesAStaleFallback()
    {
        using var t = TestCache.WithFailSafe(duration: TimeSpan.FromMinutes(1));
        await t.Cache.Set("a", "old", Tagged("red"));

        await t.Cache.RemoveByTag("red", allowFailSafe: true);

        Assert.True((await t.Cache.TryGet<string>("a")).IsNone); // stale: not for a plain read
        Assert.Equal("old", (await t.Cache.TryGet<string>("a", new FusionCacheEntryOptions { AllowStaleOnReadOnly = true })).IfNone(""));
        var failing = TestFactory<string>.Failing(Values.SourceDown);
        Assert.Equal("old", await Expect.Right(t.Cache.GetOrSet<string>("a", failing.Invoke))); // the fallback
        Assert.Equal(1, failing.Calls);
        var refreshed = TestFactory<string>.Returning("new");
        t.Advance(TimeSpan.FromMinutes(1)); // past the throttle
        Assert.Equal("new", await Expect.Right(t.Cache.GetOrSet<string>("a", refreshed.Invoke)));
    }

    [Fact]
    public async Task Clear_MakesEveryEntryAbsent_OrStaleWithAllowFailSafe()
    {
        using var t = TestCache.WithFailSafe(duration: TimeSpan.FromMinutes(1));
        await t.Cache.Set("a", "1");
        await t.Cache.Set("b", "2", Tagged("red"));
        await t.Cache.Clear(allowFailSafe: true);
        Assert.True((await t.Cache.TryGet<string>("a")).IsNone);
        Assert.Equal("1", await Expect.Right(t.Cache.GetOrSet<string>("a", TestFactory<string>.Failing(Values.SourceDown).Invoke)));

        await t.Cache.Clear();
        var factory = TestFactory<string>.Failing(Values.SourceDown);
        Expect.Left<Err.FactoryFailed, string>(await t.Cache.GetOrSet<string>("b", factory.Invoke)); // no fallback left
        await t.Cache.Set("c", "3");
        Assert.Equal("3", (await t.Cache.TryGet<string>("c")).IfNone(""));
    }

    [Fact]
    public async Task AFlightOfATaggedKey_RunningDuringTheRemoveByTag_IsNotJoinedByLaterCallers()
    {
        using var t = TestCache.Create(b => b.WithDuration(TimeSpan.FromMinutes(1)));
        var slow = TestFactory<string>.Waiting();
        var first = t.Cache.GetOrSet<string>("a", slow.Invoke, Tagged("red"));
        await Eventually.Assert(() => slow.Calls == 1, "the first factory runs");

        await t.Cache.RemoveByTag("red");
        var later = TestFactory<string>.Returning("after");
        Assert.Equal("after", await Expect.Right(t.Cache.GetOrSet<string>("a", later.Invoke, Tagged("red"))));
        slow[1].Succeed("before");
        Assert.Equal("before", await Expect.Right(first)); // its own caller overlapped the RemoveByTag
        Assert.Equal("after", (await t.Cache.TryGet<string>("a")).IfNone(""));
    }

    [Fact]
    public void BadTags_AreRefusedWithTheirName()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new FusionCacheEntryOptions { Tags = ["ok", ""] });
        Assert.Contains("Tags[1]", e.Message);
        using var t = TestCache.Create();
        Assert.Throws<ArgumentException>(() => t.Cache.RemoveByTag("").AsTask().GetAwaiter().GetResult());
    }

    [Fact]
    public async Task TheMarksOfManyTags_AreForgottenOnceNoEntryTheyCoverCanBeAlive()
    {
        using var t = TestCache.Create(b => b.WithDuration(TimeSpan.FromSeconds(10)));
        await t.Cache.Set("a", "1", Tagged("t0")); // the longest-lived tagged entry: 10 s
        for (var i = 0; i < 2_000; i++) await t.Cache.RemoveByTag($"t{i}");
        Assert.True(t.Cache.Invalidations.TagCount > 1_000);

        t.Advance(TimeSpan.FromSeconds(11)); // every entry written before those marks is dead
        await t.Cache.RemoveByTag("fresh");

        Assert.Equal(1, t.Cache.Invalidations.TagCount);
        await t.Cache.Set("b", "2", Tagged("t5"));
        Assert.Equal("2", (await t.Cache.TryGet<string>("b")).IfNone("")); // a forgotten mark hides nothing new
    }
}

