using Fusion.Tests.Support;
using LanguageExt;

namespace Fusion.Tests;

/// <summary>
/// The factory shapes beside <c>GetOrSet(key, Func&lt;Task&lt;Either&lt;Err, T&gt;&gt;&gt;)</c>: a context overload C# infers, value
/// factories whose exceptions are their failures, the fail-safe default on every shape, the per-call duration shorthand
/// and the context's helpers. That these calls compile without a type argument is half of what is tested here.
/// </summary>
public sealed class FactoryShapeTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);

    private static Task<Either<Err, int>> Load(int value, CancellationToken token) =>
        token.IsCancellationRequested ? Task.FromCanceled<Either<Err, int>>(token) : Task.FromResult(Either<Err, int>.Right(value));

    [Fact]
    public async Task TheContextOverload_InfersTheValueType_AndGivesTheKeyAndToken()
    {
        using var t = TestCache.Create();
        string? seenKey = null;

        var result = await t.Cache.GetOrSet("price:42", ctx => { seenKey = ctx.Key; return Load(42, ctx.CancellationToken); });

        Assert.Equal(42, Expect.Right(result));
        Assert.Equal("price:42", seenKey);
    }

    [Fact]
    public async Task AValueFactory_IsCachedLikeAnyOther()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var calls = 0;

        Assert.Equal(42, await Expect.Right(t.Cache.GetOrSet("answer", _ => { calls++; return Task.FromResult(42); })));
        Assert.Equal(42, await Expect.Right(t.Cache.GetOrSet("answer", _ => { calls++; return Task.FromResult(0); })));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task AValueFactoryThatThrows_IsAFactoryError_NamingTheException()
    {
        using var t = TestCache.Create();

        var err = await Expect.Left(t.Cache.GetOrSet<string>("k", async ctx =>
        {
            await Task.Yield();
            throw new InvalidOperationException("db down");
        }));

        var failed = Assert.IsType<Err.FactoryFailed>(err);
        Assert.Equal("db down", failed.Reason);
        Assert.IsType<InvalidOperationException>(failed.Exception);
    }

    [Fact]
    public async Task AValueFactoryThatReturnsNull_IsAFactoryError_AndNothingIsCached()
    {
        using var t = TestCache.Create();

        var err = await Expect.Left(t.Cache.GetOrSet("k", _ => Task.FromResult<string>(null!)));

        Assert.Contains("null", Assert.IsType<Err.FactoryFailed>(err).Reason);
        Expect.None(await t.Cache.TryGet<string>("k"));
    }

    [Fact]
    public async Task AValueFactoryThatThrows_FallsBackOnTheStaleValue_WithFailSafe()
    {
        using var t = TestCache.WithFailSafe(Duration);
        await t.Cache.GetOrSet("k", _ => Task.FromResult("first"));
        t.Advance(Duration);

        var result = await t.Cache.GetOrSet<string>("k", _ => throw new InvalidOperationException("down"));

        Assert.Equal("first", Expect.Right(result));
    }

    public static TheoryData<string> Shapes() => ["either", "either+ctx", "either+typed ctx", "value+ctx"];

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task EveryShape_TakesAFailSafeDefault_ServedWhenTheFactoryFails(string shape)
    {
        using var t = TestCache.WithFailSafe(Duration);
        var dflt = Option<string>.Some("default");
        var down = Err.Of("down");

        var result = shape switch
        {
            "either" => await t.Cache.GetOrSet("k", () => Task.FromResult(Either<Err, string>.Left(down)), dflt),
            "either+ctx" => await t.Cache.GetOrSet("k", ctx => Task.FromResult(Either<Err, string>.Left(ctx.Fail("down"))), dflt),
            "either+typed ctx" => await t.Cache.GetOrSet<string>("k", ctx => Task.FromResult<Either<Err, string>>(down), dflt),
            _ => await t.Cache.GetOrSet("k", ctx => Task.FromException<string>(new InvalidOperationException("down")), dflt),
        };

        Assert.Equal("default", Expect.Right(result));
    }

    [Fact]
    public async Task ATimeSpanWhereOptionsGo_SetsTheDurationOnly()
    {
        using var t = TestCache.Create(b => b.WithDuration(TimeSpan.FromHours(1)));
        var calls = 0;
        Task<int> Count(FactoryContext _) => Task.FromResult(++calls);

        await t.Cache.GetOrSet("k", Count, TimeSpan.FromSeconds(5));
        t.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(1, await Expect.Right(t.Cache.GetOrSet("k", Count, TimeSpan.FromSeconds(5))));
        t.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, await Expect.Right(t.Cache.GetOrSet("k", Count, TimeSpan.FromSeconds(5))));
    }

    [Fact]
    public void TheDurationShorthand_ReusesItsOptions_AndRefusesABadDuration()
    {
        FusionCacheEntryOptions a = TimeSpan.FromSeconds(7), b = TimeSpan.FromSeconds(7);

        Assert.Same(a, b);
        Assert.Equal(TimeSpan.FromSeconds(7), a.Duration);
        Assert.False(a.IsFailSafeEnabled);
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => FusionCacheEntryOptions.FromDuration(TimeSpan.FromSeconds(-1)));
        Assert.Contains("Duration", bad.Message);
    }

    [Fact]
    public async Task CtxFail_InAnInferredLambda_IsAFactoryErrorNamingTheKey()
    {
        using var t = TestCache.Create();

        var result = await t.Cache.GetOrSet("product:7", async ctx =>
        {
            var stock = await Task.FromResult(-1);
            if (stock < 0) return ctx.Fail("no such product");
            return ctx.Modified(stock);
        });

        var failed = Assert.IsType<Err.FactoryFailed>(Expect.Left(result));
        Assert.Equal("no such product (key 'product:7')", failed.Reason);
    }

    [Fact]
    public async Task NotModified_OnTheUntypedContext_RestoresTheStaleValue()
    {
        using var t = TestCache.WithFailSafe(Duration);
        await t.Cache.GetOrSet("page", ctx => Task.FromResult(ctx.Modified("<html>v1", etag: "\"v1\"")));
        t.Advance(Duration);
        string? sentETag = null;

        var result = await t.Cache.GetOrSet("page", ctx =>
        {
            sentETag = ctx.StaleETag;
            return Task.FromResult(ctx.HasStaleValue ? ctx.NotModified<string>() : ctx.Modified("<html>v2"));
        });

        Assert.Equal("<html>v1", Expect.Right(result));
        Assert.Equal("\"v1\"", sentETag);
        t.Advance(Duration - TimeSpan.FromTicks(1)); // renewed for a whole duration
        Assert.Equal("<html>v1", Expect.Some(await t.Cache.TryGet<string>("page")));
    }

    [Fact]
    public async Task NotModified_OfAnotherType_IsAnErrorNamingTheKey()
    {
        using var t = TestCache.WithFailSafe(Duration);
        await t.Cache.Set("page", "<html>");
        t.Advance(Duration);

        var err = await Expect.Left(t.Cache.GetOrSet("page", ctx => Task.FromResult(ctx.NotModified<int>())));

        Assert.Contains("'page'", err.Message);
    }
}
