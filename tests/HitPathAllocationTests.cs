using Fusion;
using LanguageExt;

namespace Fusion.Tests;

/// <summary>A fresh hit allocates nothing, and a miss only what it keeps (the benchmark suite measures
/// their time; this checks the bytes, which are exact). Nothing listens meanwhile: these tests run alone, with the
/// telemetry tests, since a tracer started anywhere in the process (a test's, the sample web API's) gives every miss
/// its spans.</summary>
[Collection(Telemetry.TelemetryCollection.Name)]
public sealed class HitPathAllocationTests
{
    private static readonly Func<Task<Either<Err, string>>> Factory = static () => Task.FromResult(Either<Err, string>.Right("value"));
    // One completed task for every call, so that the bytes counted are the cache's, not the factory's.
    private static readonly Task<Either<Err, string>> Completed = Task.FromResult(Either<Err, string>.Right("value"));
    private static readonly Func<Task<Either<Err, string>>> CompletedFactory = static () => Completed;

    [Fact]
    public async Task GetOrSet_OnAFreshEntry_AllocatesNothing()
    {
        using var cache = new FusionCacheBuilder().WithDuration(TimeSpan.FromHours(1)).Build();
        await cache.GetOrSet("k", Factory);

        Assert.Equal(0, SteadyStateBytes(() => ReadSynchronously(cache.GetOrSet("k", Factory))));
    }

    [Fact]
    public async Task GetOrSet_OnAFreshTaggedEntry_AfterInvalidationsOfItsTags_AllocatesNothing()
    {
        using var cache = new FusionCacheBuilder().WithDuration(TimeSpan.FromHours(1)).Build();
        var tagged = new FusionCacheEntryOptions { Tags = ["a", "b"] };
        await cache.RemoveByTag("a");
        await cache.Clear(allowFailSafe: true);
        await cache.GetOrSet("k", Factory, tagged);

        Assert.Equal(0, SteadyStateBytes(() => ReadSynchronously(cache.GetOrSet("k", Factory, tagged))));
    }

    [Fact]
    public async Task TryGet_OnAFreshEntry_AllocatesNothing()
    {
        using var cache = new FusionCacheBuilder().WithDuration(TimeSpan.FromHours(1)).Build();
        await cache.Set("k", "value");

        Assert.Equal(0, SteadyStateBytes(() => ReadSynchronously(cache.TryGet<string>("k"))));
    }

    [Fact]
    public async Task RemoveThenGetOrSet_WithASynchronousFactory_AllocatesAtMostTheEntryAndItsBookkeeping()
    {
        // What a miss keeps: the entry (72 B), L1's node and its dictionary node, and the flight with its
        // table node while it runs. 336 B is the benchmark target (half of FusionCache's 672 B): a task,
        // a closure or a reference union back on the path goes over it.
        using var cache = new FusionCacheBuilder().WithDuration(TimeSpan.FromHours(1)).Build();
        await cache.GetOrSet("k", Factory);

        var perMiss = SteadyStateBytes(() =>
        {
            ReadSynchronously(cache.Remove("k"));
            ReadSynchronously(cache.GetOrSet("k", CompletedFactory));
        }, floor: 336 * 10_000) / 10_000;

        Assert.InRange(perMiss, 1, 336);
    }

    /// <summary>Bytes 10,000 calls allocate once warm: the first rounds also pay for tiered JIT compilation.</summary>
    private static long SteadyStateBytes(Action call, long floor = 0)
    {
        long allocated = long.MaxValue;
        for (var round = 0; round < 10 && allocated > floor; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 10_000; i++) call();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        return allocated;
    }

    private static void ReadSynchronously<TResult>(ValueTask<TResult> hit)
    {
        if (!hit.IsCompletedSuccessfully) throw new InvalidOperationException("a fresh hit must complete synchronously");
        _ = hit.Result;
    }

    private static void ReadSynchronously(ValueTask done)
    {
        if (!done.IsCompletedSuccessfully) throw new InvalidOperationException("an L1-only command must complete synchronously");
    }
}
