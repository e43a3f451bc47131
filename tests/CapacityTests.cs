using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>L1 is bounded: beyond its capacity S3-FIFO evicts, as part of the write that went over.</summary>
public sealed class CapacityTests
{
    [Fact]
    public async Task Set_OfAThousandKeysInACacheOfTen_LeavesExactlyTenEntries()
    {
        using var t = TestCache.Create(b => b.WithCapacity(10));

        for (var i = 0; i < 1000; i++)
        {
            await t.Cache.Set($"key-{i}", i);
            Assert.InRange(t.Cache.Memory.Count, 1, 10);
        }

        Assert.Equal(10, t.Cache.Capacity);
        Assert.Equal(10, t.Cache.Memory.Count);
        Assert.Equal(999, Expect.Some(await t.Cache.TryGet<int>("key-999")));
    }

    [Fact]
    public async Task GetOrSet_OfAThousandKeysInACacheOfTen_StillAnswersEveryCall()
    {
        using var t = TestCache.Create(b => b.WithCapacity(10));
        var factory = TestFactory<int>.Returning(7);

        for (var i = 0; i < 1000; i++) Assert.Equal(7, await Expect.Right(t.Cache.GetOrSet<int>($"key-{i}", factory.Invoke)));

        Assert.Equal(10, t.Cache.Memory.Count);
    }

    [Fact]
    public async Task GetOrSet_OfAKeyThatWasJustEvicted_CachesItAgain()
    {
        // A key coming back from S3-FIFO's ghost list once was the victim of its own insert, so it could
        // never be cached again and every read ran the factory.
        using var t = TestCache.Create(b => b.WithCapacity(1));
        var a = TestFactory<int>.Returning(1);
        var b = TestFactory<int>.Returning(2);
        await Expect.Right(t.Cache.GetOrSet<int>("a", a.Invoke));
        await Expect.Right(t.Cache.GetOrSet<int>("b", b.Invoke));

        for (var i = 0; i < 10; i++) Assert.Equal(1, await Expect.Right(t.Cache.GetOrSet<int>("a", a.Invoke)));

        Assert.Equal(2, a.Calls);
    }

    [Fact]
    public async Task Build_WithTheSmallestCapacityTheBuilderAccepts_GivesAWorkingCache()
    {
        // WithCapacity documents "at least 1"; the smallest accepted value must build a working cache.
        var builder = new FusionCacheBuilder().WithCapacity(1);

        using var cache = builder.Build();
        await cache.Set("k", "v");

        Assert.Equal("v", Expect.Some(await cache.TryGet<string>("k")));
    }
}
