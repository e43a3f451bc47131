using Fusion.Runtime;

namespace Fusion.Tests;

/// <summary>L1's store on its own: S3-FIFO eviction, the capacity bound, removals, and concurrent use.</summary>
public sealed class BoundedStoreTests
{
    [Fact]
    public void Set_BeyondCapacity_KeepsExactlyCapacityKeys_AndTheLastWrittenOne()
    {
        var store = new BoundedStore<string>(100);

        for (var i = 0; i < 10_000; i++) store.Set($"k{i}", $"v{i}");

        Assert.Equal(100, store.Count);
        Assert.Equal(100, store.Keys.Count());
        Assert.True(store.TryGet("k9999", out var last));
        Assert.Equal("v9999", last);
    }

    [Fact]
    public void Set_OfAHeldKey_ReplacesItsValueInPlace()
    {
        var store = new BoundedStore<string>(10);
        store.Set("k", "old");

        store.Set("k", "new");

        Assert.Equal(1, store.Count);
        Assert.True(store.TryPeek("k", out var value));
        Assert.Equal("new", value);
    }

    [Fact]
    public void KeysReadAgain_SurviveAScanOfKeysReadOnce()
    {
        // The point of S3-FIFO over plain FIFO/LRU: a one-pass scan must not flush the working set.
        var store = new BoundedStore<string>(100);
        for (var i = 0; i < 50; i++) store.Set($"hot{i}", "v");
        for (var round = 0; round < 3; round++)
            for (var i = 0; i < 50; i++) store.TryGet($"hot{i}", out _);

        for (var i = 0; i < 5_000; i++)
        {
            store.Set($"scan{i}", "v");
            if (i % 100 == 0) for (var h = 0; h < 50; h++) store.TryGet($"hot{h}", out _);
        }

        var survivors = Enumerable.Range(0, 50).Count(i => store.TryPeek($"hot{i}", out _));
        Assert.Equal(50, survivors);
    }

    [Fact]
    public void AKeyEvictedRecently_ComesBackIntoMain_AndOutlivesNewKeys()
    {
        var store = new BoundedStore<string>(20);
        store.Set("returning", "v");
        for (var i = 0; i < 20; i++) store.Set($"a{i}", "v"); // pushes "returning" out of the small queue unread
        Assert.False(store.TryPeek("returning", out _));

        store.Set("returning", "v"); // a ghost hit: straight into main
        for (var i = 0; i < 15; i++) store.Set($"b{i}", "v");

        Assert.True(store.TryPeek("returning", out _));
    }

    [Fact]
    public void TryRemove_ForgetsTheKey_AndManyRemovalsLeaveNoGarbageThatCountsAgainstCapacity()
    {
        var store = new BoundedStore<string>(10);
        for (var i = 0; i < 100_000; i++)
        {
            store.Set("churn", $"v{i}");
            Assert.True(store.TryRemove("churn"));
        }
        for (var i = 0; i < 10; i++) store.Set($"k{i}", "v");

        Assert.False(store.TryGet("churn", out _));
        Assert.False(store.TryRemove("churn"));
        Assert.Equal(10, store.Count);
        Assert.All(Enumerable.Range(0, 10), i => Assert.True(store.TryPeek($"k{i}", out _)));
    }

    [Fact]
    public void AKeyRemovedAndWrittenAgain_LeavesNoRemovedNodesQueued()
    {
        var store = new BoundedStore<string>(100);
        store.Set("resident", "v");

        for (var i = 0; i < 1_000; i++)
        {
            store.Set("churn", $"v{i}");
            store.TryRemove("churn");
        }

        // Removed nodes are swept once they outnumber half the live keys and 16: they do not wait in the
        // FIFOs for an eviction, holding their values alive meanwhile.
        Assert.InRange(store.QueuedNodes, 1, 1 + 16 + 1);
    }

    [Fact]
    public void TryRemove_WithAnExpectedValue_RemovesOnlyThatValue()
    {
        var store = new BoundedStore<string>(10);
        var first = new string('a', 3);
        var second = new string('a', 3); // equal text, another instance: compare-and-remove is by reference
        store.Set("k", first);

        Assert.False(store.TryRemove("k", second));
        Assert.True(store.TryPeek("k", out _));
        Assert.True(store.TryRemove("k", first));
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public void Constructor_RejectsACapacityBelowOne()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedStore<string>(0));
        Assert.Equal("capacity", error.ParamName);
    }

    [Fact]
    public async Task ConcurrentReadersAndWriters_NeverSeeAForeignValue_AndTheBoundHolds()
    {
        // Each key's writes are serialized (as the memory level's stripe locks do); keys race each other.
        const int Capacity = 64;
        var store = new BoundedStore<string>(Capacity);
        var locks = Enumerable.Range(0, 16).Select(_ => new object()).ToArray();
        var failures = 0;

        var workers = Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            var random = new Random(worker);
            for (var i = 0; i < 200_000; i++)
            {
                var id = random.Next(256);
                var key = $"k{id}";
                switch (random.Next(10))
                {
                    case 0:
                        lock (locks[id % locks.Length]) store.TryRemove(key);
                        break;
                    case < 4:
                        lock (locks[id % locks.Length]) store.Set(key, $"{key}:{i}");
                        break;
                    default:
                        if (store.TryGet(key, out var value) && !value.StartsWith(key + ":", StringComparison.Ordinal))
                            Interlocked.Increment(ref failures);
                        break;
                }
                if (store.Count > Capacity + 4) Interlocked.Increment(ref failures); // at most one insert per writer in progress
            }
        })).ToArray();
        await Task.WhenAll(workers);

        Assert.Equal(0, failures);
        Assert.InRange(store.Count, 0, Capacity);
        Assert.Equal(store.Count, store.Keys.Count());
    }
}
