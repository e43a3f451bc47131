using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>
/// SEMANTICS §3 step 6: a caller's token cancels only that caller's wait; the factory's token is cancelled only
/// when every waiter has gone and background completion is not allowed; a cancelled flight never blocks (invariant 7).
/// </summary>
public sealed class CancellationTests
{
    private static readonly FusionCacheEntryOptions NoBackground = new() { AllowTimedOutFactoryBackgroundCompletion = false };

    [Fact]
    public async Task GetOrSet_WhenOneWaiterCancels_OnlyThatCallerGetsCancelled()
    {
        using var t = TestCache.Create();
        var factory = TestFactory<string>.Waiting();
        using var cts = new CancellationTokenSource();
        var leader = t.Cache.GetOrSet<string>("k", factory.Invoke, NoBackground);
        var quitter = t.Cache.GetOrSet<string>("k", factory.Invoke, NoBackground, cts.Token);
        var patient = t.Cache.GetOrSet<string>("k", factory.Invoke, NoBackground);

        await cts.CancelAsync();
        Expect.Left<Err.Cancelled, string>(await Eventually.Within(quitter));
        Assert.False(factory[1].Context.CancellationToken.IsCancellationRequested);
        factory[1].Succeed("v");

        Assert.Equal("v", await Expect.Right(leader));
        Assert.Equal("v", await Expect.Right(patient));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenTheLeaderCancels_OtherWaitersStillGetTheValueAndTheFactoryRunsOn()
    {
        using var t = TestCache.Create();
        var factory = TestFactory<string>.Waiting();
        using var cts = new CancellationTokenSource();
        var leader = t.Cache.GetOrSet<string>("k", factory.Invoke, NoBackground, cts.Token);
        var follower = t.Cache.GetOrSet<string>("k", factory.Invoke, NoBackground);

        await cts.CancelAsync();
        Expect.Left<Err.Cancelled, string>(await Eventually.Within(leader));
        Assert.False(factory[1].Context.CancellationToken.IsCancellationRequested);
        factory[1].Succeed("v");

        Assert.Equal("v", await Expect.Right(follower));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenEveryWaiterCancelsWithoutBackgroundCompletion_CancelsTheFactoryAndTheNextCallerStartsAFreshFlight()
    {
        using var t = TestCache.Create();
        var factory = TestFactory<string>.WaitingAndObservingCancellation();
        using var cts = new CancellationTokenSource();
        var first = t.Cache.GetOrSet<string>("k", factory.Invoke, NoBackground, cts.Token);
        var second = t.Cache.GetOrSet<string>("k", factory.Invoke, NoBackground, cts.Token);

        await cts.CancelAsync();
        Expect.Left<Err.Cancelled, string>(await Eventually.Within(first));
        Expect.Left<Err.Cancelled, string>(await Eventually.Within(second));
        Assert.True(factory[1].Context.CancellationToken.IsCancellationRequested);

        factory.NowReturns("fresh");
        Assert.Equal("fresh", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke, NoBackground)));
        Assert.Equal(2, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenEveryWaiterCancelsAndTheFactoryIgnoresItsToken_TheNextCallerIsNotBlocked()
    {
        using var t = TestCache.Create();
        var factory = TestFactory<string>.Waiting();
        using var cts = new CancellationTokenSource();
        var abandoned = t.Cache.GetOrSet<string>("k", factory.Invoke, NoBackground, cts.Token);

        await cts.CancelAsync();
        Expect.Left<Err.Cancelled, string>(await Eventually.Within(abandoned));

        factory.NowReturns("fresh");
        Assert.Equal("fresh", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke, NoBackground)));
        Assert.Equal(2, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenEveryWaiterCancelsWithBackgroundCompletion_TheFactoryKeepsRunningAndItsValueIsShared()
    {
        using var t = TestCache.Create();
        var factory = TestFactory<string>.Waiting();
        using var cts = new CancellationTokenSource();
        var abandoned = t.Cache.GetOrSet<string>("k", factory.Invoke, cancellationToken: cts.Token);

        await cts.CancelAsync();
        Expect.Left<Err.Cancelled, string>(await Eventually.Within(abandoned));
        Assert.False(factory[1].Context.CancellationToken.IsCancellationRequested);

        var latecomer = t.Cache.GetOrSet<string>("k", factory.Invoke);
        factory[1].Succeed("v");

        Assert.Equal("v", await Expect.Right(latecomer));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WithAnAlreadyCancelledToken_ReturnsCancelledWithoutCallingTheFactory()
    {
        using var t = TestCache.Create();
        var factory = TestFactory<string>.Returning("v");

        var result = await t.Cache.GetOrSet<string>("k", factory.Invoke, cancellationToken: new CancellationToken(canceled: true));

        Expect.Left<Err.Cancelled, string>(result);
        Assert.Equal(0, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenTheFactoryThrowsOperationCanceledOnItsOwn_ReturnsFactoryFailed()
    {
        using var t = TestCache.Create();
        var factory = TestFactory<string>.Throwing(new OperationCanceledException("the source gave up"));

        var error = Expect.Left<Err.FactoryFailed, string>(await t.Cache.GetOrSet<string>("k", factory.Invoke));

        Assert.IsType<OperationCanceledException>(error.Exception);
    }
}
