using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>Every token the API takes is honoured: a call whose token is already cancelled does nothing and says so with
/// <see cref="OperationCanceledException"/> (GetOrSet, whose result is an Either, says <c>Left(Err.Cancelled)</c>).</summary>
public sealed class TokenTests
{
    private static CancellationToken Cancelled => new(canceled: true);

    [Fact]
    public async Task Set_WithACancelledToken_WritesNothing()
    {
        using var t = TestCache.Create();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.Cache.Set("k", "v", cancellationToken: Cancelled).AsTask());

        Expect.None(await t.Cache.TryGet<string>("k"));
    }

    [Fact]
    public async Task RemoveAndExpire_WithACancelledToken_ChangeNothing()
    {
        using var t = TestCache.Create();
        await t.Cache.Set("k", "v");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.Cache.Remove("k", cancellationToken: Cancelled).AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.Cache.Expire("k", cancellationToken: Cancelled).AsTask());

        Assert.Equal("v", Expect.Some(await t.Cache.TryGet<string>("k")));
    }

    [Fact]
    public async Task RemoveByTagAndClear_WithACancelledToken_InvalidateNothing()
    {
        using var t = TestCache.Create();
        await t.Cache.Set("k", "v", new FusionCacheEntryOptions { Tags = ["t"] });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.Cache.RemoveByTag("t", cancellationToken: Cancelled).AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.Cache.RemoveByTag(["t"], cancellationToken: Cancelled).AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.Cache.Clear(cancellationToken: Cancelled).AsTask());

        Assert.Equal("v", Expect.Some(await t.Cache.TryGet<string>("k")));
    }

    [Fact]
    public async Task RemoveByTag_OfSeveralTags_RefusesABadOneBeforeInvalidatingAny()
    {
        using var t = TestCache.Create();
        await t.Cache.Set("k", "v", new FusionCacheEntryOptions { Tags = ["a"] });

        var bad = await Assert.ThrowsAsync<ArgumentException>(() => t.Cache.RemoveByTag(["a", ""]).AsTask());

        Assert.Equal("tags", bad.ParamName);
        Assert.Equal("v", Expect.Some(await t.Cache.TryGet<string>("k")));
    }

    [Fact]
    public async Task TryGet_WithACancelledToken_Throws_RatherThanSayingTheKeyIsAbsent()
    {
        using var t = TestCache.Create();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.Cache.TryGet<string>("k", cancellationToken: Cancelled).AsTask());
    }

    [Fact]
    public async Task GetOrSet_WithACancelledToken_IsLeftCancelled_AndRunsNoFactory()
    {
        using var t = TestCache.Create();
        var calls = 0;

        var result = await t.Cache.GetOrSet("k", _ => Task.FromResult(++calls), cancellationToken: Cancelled);

        Assert.IsType<Err.Cancelled>(Expect.Left(result));
        Assert.Equal(0, calls);
    }
}
