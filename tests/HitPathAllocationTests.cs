using Fusion;
using LanguageExt;

namespace Fusion.Tests;

/// <summary>A fresh hit allocates nothing (the benchmark suite measures its time; this checks the bytes).</summary>
public sealed class HitPathAllocationTests
{
    private static readonly Func<Task<Either<Err, string>>> Factory = static () => Task.FromResult(Either<Err, string>.Right("value"));

    [Fact]
    public async Task GetOrSet_OnAFreshEntry_AllocatesNothing()
    {
        using var cache = new FusionCacheBuilder().WithDuration(TimeSpan.FromHours(1)).Build();
        await cache.GetOrSet("k", Factory);

        Assert.Equal(0, SteadyStateBytes(() => ReadSynchronously(cache.GetOrSet("k", Factory))));
    }

    [Fact]
    public async Task TryGet_OnAFreshEntry_AllocatesNothing()
    {
        using var cache = new FusionCacheBuilder().WithDuration(TimeSpan.FromHours(1)).Build();
        await cache.Set("k", "value");

        Assert.Equal(0, SteadyStateBytes(() => ReadSynchronously(cache.TryGet<string>("k"))));
    }

    /// <summary>Bytes 10,000 calls allocate once warm: the first rounds also pay for tiered JIT compilation.</summary>
    private static long SteadyStateBytes(Action call)
    {
        long allocated = long.MaxValue;
        for (var round = 0; round < 10 && allocated != 0; round++)
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
}
