using Fusion.Tests.Support;
using LanguageExt;

namespace Fusion.Tests;

/// <summary>Invariant 6: N concurrent callers on one cold key make one factory call and share its outcome.</summary>
public sealed class StampedeTests
{
    private const int Callers = 1000;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Starts <see cref="Callers"/> callers on the thread pool, waits until every one has joined the key's flight
    /// (GetOrSet joins before it first awaits), then lets the factory's first call finish.
    /// </summary>
    private static async Task<Either<Err, string>[]> Stampede(TestCache t, TestFactory<string> factory, Action<TestFactory<string>.Call> finish)
    {
        var joined = 0;
        var allJoined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var callers = Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            var pending = t.Cache.GetOrSet<string>("k", factory.Invoke);
            if (Interlocked.Increment(ref joined) == Callers) allJoined.SetResult();
            return await pending;
        })).ToArray();

        await allJoined.Task.WaitAsync(Eventually.Bound);
        finish(factory[1]);
        return await Task.WhenAll(callers).WaitAsync(Eventually.Bound);
    }

    [Fact]
    public async Task GetOrSet_WithAThousandConcurrentCallersOnAColdKey_CallsTheFactoryOnceAndAllGetItsValue()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var factory = TestFactory<string>.Waiting();

        var results = await Stampede(t, factory, call => call.Succeed("v"));

        Assert.Equal(1, factory.Calls);
        Assert.All(results, r => Assert.Equal("v", Expect.Right(r)));
    }

    [Fact]
    public async Task GetOrSet_WithAThousandConcurrentCallersAndAFailingFactory_CallsItOnceAndAllGetTheError()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var factory = TestFactory<string>.Waiting();

        var results = await Stampede(t, factory, call => call.Fail(Values.SourceDown));

        Assert.Equal(1, factory.Calls);
        Assert.All(results, r => Assert.Equal(Values.SourceDown, Expect.Left(r)));
    }

    [Fact]
    public async Task GetOrSet_WithAThousandConcurrentCallersAFailingFactoryAndAStaleValue_CallsItOnceAndAllGetTheFallback()
    {
        using var t = TestCache.WithFailSafe(Duration);
        await t.SetThenAdvance("k", "old", Duration);
        var factory = TestFactory<string>.Waiting();

        var results = await Stampede(t, factory, call => call.Fail(Values.SourceDown));

        Assert.Equal(1, factory.Calls);
        Assert.All(results, r => Assert.Equal("old", Expect.Right(r)));
    }

    [Fact]
    public async Task GetOrSet_AfterAStampede_LeavesNoFlightBehind()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var factory = TestFactory<string>.Waiting();

        await Stampede(t, factory, call => call.Succeed("v"));

        Assert.Equal(0, t.Cache.InFlightCount);
    }
}
