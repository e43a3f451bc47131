using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>
/// Dispose stops what the cache started (issue: a factory allowed to complete in the background got no token, so not
/// even Dispose could cancel it): every running factory's token is cancelled, every waiter answered, nothing of a
/// stopped flight lands, and no flight is left.
/// </summary>
public sealed class DisposeTests
{
    private static readonly TimeSpan Soft = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Dispose_CancelsTheTokenOfAFactoryCompletingInTheBackground_AndLeavesNoFlight()
    {
        var t = TestCache.WithFailSafe(TimeSpan.FromSeconds(10));
        await t.SetThenAdvance("k", "old", TimeSpan.FromSeconds(10));
        var factory = TestFactory<string>.Waiting();
        var result = t.Cache.GetOrSet<string>("k", factory.Invoke, new FusionCacheEntryOptions { FactorySoftTimeout = Soft });
        t.Advance(Soft);
        Assert.Equal("old", await Expect.Right(result)); // the factory goes on in the background
        var token = factory[1].Context.CancellationToken;
        Assert.False(token.IsCancellationRequested);
        Assert.Equal(1, t.Cache.InFlightCount);

        t.Dispose();

        Assert.True(token.IsCancellationRequested, "Dispose did not cancel the background factory's token");
        Assert.Equal(0, t.Cache.InFlightCount);
        factory[1].Succeed("late"); // ignored its token: nothing of it is kept (and nothing throws)
    }

    [Fact]
    public async Task Dispose_AnswersEveryCallerWaitingOnAHungFactory()
    {
        var t = TestCache.Create();
        var hung = new TaskCompletionSource<LanguageExt.Either<Err, string>>(); // a plain factory: no token to listen to
        var first = t.Cache.GetOrSet<string>("k", () => hung.Task);
        var second = t.Cache.GetOrSet<string>("k", () => hung.Task);
        Assert.False(first.IsCompleted);

        t.Dispose();

        Expect.Left<Err.Cancelled, string>(await Eventually.Within(first));
        Expect.Left<Err.Cancelled, string>(await Eventually.Within(second));
        Assert.Equal(0, t.Cache.InFlightCount);
        hung.SetResult(LanguageExt.Either<Err, string>.Right("late"));
    }

    [Fact]
    public async Task AfterDispose_CallsAreRefused_AndDisposeAgainIsHarmless()
    {
        var t = TestCache.Create();
        t.Dispose();
        t.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await t.Cache.GetOrSet<string>("k", TestFactory<string>.Returning("v").Invoke));
    }
}
