using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>JitterMaxDuration J: the logical lifetime is Duration plus a draw in [0, J), checked over many keys.</summary>
public sealed class JitterTests
{
    private const int Keys = 200;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Jitter = TimeSpan.FromSeconds(5);
    private static readonly FusionCacheEntryOptions Jittered = new() { Duration = Duration, JitterMaxDuration = Jitter };

    private static async Task<(TestCache Cache, TestFactory<string> Factory)> CacheWithManyKeys()
    {
        var t = TestCache.Create();
        var factory = TestFactory<string>.Returning("v");
        await ReadAll(t, factory);
        Assert.Equal(Keys, factory.Calls);
        return (t, factory);
    }

    private static async Task ReadAll(TestCache t, TestFactory<string> factory)
    {
        for (var i = 0; i < Keys; i++) Expect.Right(await t.Cache.GetOrSet<string>($"key-{i}", factory.Invoke, Jittered));
    }

    [Fact]
    public async Task GetOrSet_JustBeforeDuration_FindsEveryKeyStillFresh()
    {
        var (t, factory) = await CacheWithManyKeys();
        using var _ = t;

        t.Advance(Duration - TimeSpan.FromTicks(1));
        await ReadAll(t, factory);

        Assert.Equal(Keys, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_AtDurationPlusJitter_FindsEveryKeyExpired()
    {
        var (t, factory) = await CacheWithManyKeys();
        using var _ = t;

        t.Advance(Duration + Jitter);
        await ReadAll(t, factory);

        Assert.Equal(2 * Keys, factory.Calls);
    }

    [Fact]
    public async Task TryGet_HalfwayThroughTheJitterWindow_FindsSomeKeysExpiredAndSomeNot()
    {
        // Each key's draw is uniform in [0, 5 s): the chance that all 200 fall on one side of 2.5 s is 2^-199.
        var (t, _) = await CacheWithManyKeys();
        using var __ = t;

        t.Advance(Duration + Jitter / 2);
        var fresh = 0;
        for (var i = 0; i < Keys; i++)
            if ((await t.Cache.TryGet<string>($"key-{i}")).IsSome) fresh++;

        Assert.InRange(fresh, 1, Keys - 1);
    }
}
