using Fusion.Tests.Support;
using LanguageExt;

namespace Fusion.Tests;

/// <summary>
/// Adaptive caching (SEMANTICS §4b): the factory sets, on its context, options for the entry it produces (laid over
/// the caller's); the caller's options object is never changed.
/// </summary>
public sealed class AdaptiveCachingTests
{
    private static readonly FusionCacheEntryOptions Minute = new() { Duration = TimeSpan.FromMinutes(1) };

    [Fact]
    public async Task TheFactory_SetsTheProducedEntrysDuration_AndTheCallersOptionsStayAsTheyWere()
    {
        using var t = TestCache.Create();
        var calls = 0;
        Task<Either<Err, string>> Short(FactoryContext<string> ctx)
        {
            calls++;
            ctx.EntryOptions = new FusionCacheEntryOptions { Duration = TimeSpan.FromSeconds(5) }; // e.g. from an HTTP max-age
            return Task.FromResult(Either<Err, string>.Right($"v{calls}"));
        }

        Assert.Equal("v1", await Expect.Right(t.Cache.GetOrSet<string>("k", Short, Minute)));
        t.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal("v1", await Expect.Right(t.Cache.GetOrSet<string>("k", Short, Minute)));
        t.Advance(TimeSpan.FromSeconds(2)); // past the factory's 5 s, well within the caller's minute
        Assert.Equal("v2", await Expect.Right(t.Cache.GetOrSet<string>("k", Short, Minute)));

        Assert.Equal(TimeSpan.FromMinutes(1), Minute.Duration);
        await t.Cache.Set("other", "x", Minute); // the same options object, still a minute
        t.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("x", (await t.Cache.TryGet<string>("other")).IfNone(""));
    }

    [Fact]
    public async Task TheFactory_TagsTheProducedEntry_AndARemoveByTagThenHidesIt()
    {
        using var t = TestCache.Create(b => b.WithDuration(TimeSpan.FromMinutes(1)));
        Task<Either<Err, string>> Tagging(FactoryContext<string> ctx)
        {
            ctx.EntryOptions = new FusionCacheEntryOptions { Tags = ["tenant:7"] };
            return Task.FromResult(Either<Err, string>.Right("value"));
        }
        Assert.Equal("value", await Expect.Right(t.Cache.GetOrSet<string>("k", Tagging)));

        await t.Cache.RemoveByTag("tenant:7");

        Assert.True((await t.Cache.TryGet<string>("k")).IsNone);
    }

    [Fact]
    public async Task AFactoryThatSetsNothing_WritesWithTheCallersOptions()
    {
        using var t = TestCache.Create();
        Assert.Equal("v", await Expect.Right(t.Cache.GetOrSet<string>("k", _ => Task.FromResult(Either<Err, string>.Right("v")), Minute)));
        t.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal("v", (await t.Cache.TryGet<string>("k")).IfNone(""));
    }
}
