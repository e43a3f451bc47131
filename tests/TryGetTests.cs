using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>TryGet: a read that never runs a factory (Fresh, or Stale with AllowStaleOnReadOnly).</summary>
public sealed class TryGetTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(60);
    private static readonly FusionCacheEntryOptions StaleAllowed = new() { AllowStaleOnReadOnly = true };

    private static TestCache NewCache() => TestCache.WithFailSafe(Duration, maxDuration: MaxDuration);

    [Fact]
    public async Task TryGet_WhenFresh_ReturnsSome()
    {
        using var t = NewCache();
        await t.Cache.Set("k", "v");

        Assert.Equal("v", Expect.Some(await t.Cache.TryGet<string>("k")));
    }

    [Fact]
    public async Task TryGet_WhenStaleWithoutAllowStaleOnReadOnly_ReturnsNone()
    {
        using var t = NewCache();
        await t.SetThenAdvance("k", "v", Duration);

        Expect.None(await t.Cache.TryGet<string>("k"));
    }

    [Fact]
    public async Task TryGet_WhenStaleWithAllowStaleOnReadOnly_ReturnsSome()
    {
        using var t = NewCache();
        await t.SetThenAdvance("k", "v", Duration);

        Assert.Equal("v", Expect.Some(await t.Cache.TryGet<string>("k", StaleAllowed)));
    }

    [Fact]
    public async Task TryGet_PastPhysicalExpiryWithAllowStaleOnReadOnly_ReturnsNone()
    {
        using var t = NewCache();
        await t.SetThenAdvance("k", "v", MaxDuration);

        Expect.None(await t.Cache.TryGet<string>("k", StaleAllowed));
    }

    [Fact]
    public async Task TryGet_WhenMissing_ReturnsNone()
    {
        using var t = NewCache();

        Expect.None(await t.Cache.TryGet<string>("k"));
    }

    [Fact]
    public async Task TryGet_WhenTheKeyHoldsAnotherType_ReturnsNone()
    {
        using var t = NewCache();
        await t.Cache.Set("k", 42);

        Expect.None(await t.Cache.TryGet<string>("k"));
        Assert.Equal(42, Expect.Some(await t.Cache.TryGet<int>("k")));
    }

    [Fact]
    public async Task TryGet_WhenStaleIsAllowedByTheCacheDefaults_ReturnsSome()
    {
        using var t = TestCache.Create(b => b.WithDefaultEntryOptions(new FusionCacheEntryOptions
        {
            Duration = Duration, IsFailSafeEnabled = true, AllowStaleOnReadOnly = true,
        }));
        await t.SetThenAdvance("k", "v", Duration);

        Assert.Equal("v", Expect.Some(await t.Cache.TryGet<string>("k")));
    }
}
