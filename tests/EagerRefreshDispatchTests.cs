using Fusion.Tests.Support;
using LanguageExt;

namespace Fusion.Tests;

/// <summary>
/// An eager refresh is started by a hit but runs none of its work on the hit's thread (SEMANTICS §3.6): a refresh
/// factory that blocks synchronously before returning its task must not hold up the hit that started it.
/// </summary>
public sealed class EagerRefreshDispatchTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RefreshAt = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan HitBound = TimeSpan.FromSeconds(2);
    private static readonly FusionCacheEntryOptions Eager = new() { Duration = Duration, EagerRefreshThreshold = 0.5 };

    [Fact]
    public async Task HitPastTheThreshold_WhenTheRefreshFactoryBlocksSynchronously_ReturnsWhileTheFactoryIsStillBlocked()
    {
        using var t = TestCache.Create();
        using var gate = new ManualResetEventSlim(false);
        var calls = 0;
        // Call 1 fills the cache; the refresh (call 2) blocks its calling thread until the gate opens.
        Task<Either<Err, string>> Factory(FactoryContext<string> _)
        {
            if (Interlocked.Increment(ref calls) == 1) return Task.FromResult(Either<Err, string>.Right("v1"));
            gate.Wait(TimeSpan.FromSeconds(10));
            return Task.FromResult(Either<Err, string>.Right("v2"));
        }
        Assert.Equal("v1", await Expect.Right(t.Cache.GetOrSet<string>("k", Factory, Eager)));
        t.Advance(RefreshAt);

        try
        {
            var hit = Task.Run(async () => await t.Cache.GetOrSet<string>("k", Factory, Eager));

            var first = await Task.WhenAny(hit, Task.Delay(HitBound));
            Assert.False(gate.IsSet);
            Assert.True(ReferenceEquals(first, hit), $"the hit did not return within {HitBound.TotalSeconds} s while the refresh factory was blocked");
            Assert.Equal("v1", Expect.Right(await hit));
            await Eventually.Assert(() => Volatile.Read(ref calls) == 2, "the refresh calls the factory");
        }
        finally
        {
            gate.Set();
        }

        await Eventually.Assert(async () => await t.Cached<string>("k") == "v2", "the refresh lands");
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the refresh flight ends");
        Assert.Equal(2, Volatile.Read(ref calls));
    }
}
