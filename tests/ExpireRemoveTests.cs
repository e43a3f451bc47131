using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>Expire makes an entry stale but keeps it as a fail-safe fallback; Remove deletes it outright.</summary>
public sealed class ExpireRemoveTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly FusionCacheEntryOptions StaleAllowed = new() { AllowStaleOnReadOnly = true };

    [Fact]
    public async Task GetOrSet_AfterExpire_CallsTheFactoryForAFreshValue()
    {
        using var t = TestCache.WithFailSafe(Duration);
        await t.Cache.Set("k", "old");
        var factory = TestFactory<string>.Returning("new");

        await t.Cache.Expire("k");

        Assert.Equal("new", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_AfterExpireWithFailingFactory_ReturnsTheOldValueThroughFailSafe()
    {
        using var t = TestCache.WithFailSafe(Duration);
        await t.Cache.Set("k", "old");
        var factory = TestFactory<string>.Failing(Values.SourceDown);

        await t.Cache.Expire("k");

        Assert.Equal("old", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task TryGet_AfterExpire_ReturnsTheValueOnlyWhenStaleIsAllowed()
    {
        using var t = TestCache.WithFailSafe(Duration);
        await t.Cache.Set("k", "old");

        await t.Cache.Expire("k");

        Expect.None(await t.Cache.TryGet<string>("k"));
        Assert.Equal("old", Expect.Some(await t.Cache.TryGet<string>("k", StaleAllowed)));
    }

    [Fact]
    public async Task GetOrSet_AfterRemoveWithFailingFactory_ReturnsTheError()
    {
        using var t = TestCache.WithFailSafe(Duration);
        await t.Cache.Set("k", "old");
        var factory = TestFactory<string>.Failing(Values.SourceDown);

        await t.Cache.Remove("k");

        Assert.Equal(Values.SourceDown, await Expect.Left(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Expect.None(await t.Cache.TryGet<string>("k", StaleAllowed));
    }

    [Fact]
    public async Task ExpireAndRemove_OnAMissingKey_DoNothing()
    {
        using var t = TestCache.WithFailSafe(Duration);

        await t.Cache.Expire("missing");
        await t.Cache.Remove("missing");

        Expect.None(await t.Cache.TryGet<string>("missing", StaleAllowed));
    }

    [Fact]
    public async Task Expire_OnAnAlreadyStaleEntry_KeepsItAsAFallback()
    {
        using var t = TestCache.WithFailSafe(Duration);
        await t.SetThenAdvance("k", "old", Duration);

        await t.Cache.Expire("k");

        Assert.Equal("old", Expect.Some(await t.Cache.TryGet<string>("k", StaleAllowed)));
    }
}
