using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>L1 is bounded: beyond its capacity W-TinyLFU evicts.</summary>
public sealed class CapacityTests
{
    [Fact]
    public async Task Set_OfAThousandKeysInACacheOfTen_LeavesAtMostTenEntriesAfterMaintenance()
    {
        using var t = TestCache.Create(b => b.WithCapacity(10));

        for (var i = 0; i < 1000; i++) await t.Cache.Set($"key-{i}", i);
        t.Cache.Memory.Maintain();

        Assert.Equal(10, t.Cache.Capacity);
        Assert.InRange(t.Cache.Memory.Count, 1, 10);
    }

    [Fact]
    public async Task GetOrSet_OfAThousandKeysInACacheOfTen_StillAnswersEveryCall()
    {
        using var t = TestCache.Create(b => b.WithCapacity(10));
        var factory = TestFactory<int>.Returning(7);

        for (var i = 0; i < 1000; i++) Assert.Equal(7, await Expect.Right(t.Cache.GetOrSet<int>($"key-{i}", factory.Invoke)));
        t.Cache.Memory.Maintain();

        Assert.InRange(t.Cache.Memory.Count, 1, 10);
    }

    [Fact]
    public async Task Build_WithTheSmallestCapacityTheBuilderAccepts_GivesAWorkingCache()
    {
        // WithCapacity documents "at least 3"; the smallest accepted value must build a working cache.
        var builder = new FusionCacheBuilder().WithCapacity(3);

        using var cache = builder.Build();
        await cache.Set("k", "v");

        Assert.Equal("v", Expect.Some(await cache.TryGet<string>("k")));
    }
}
