using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>
/// A backplane without L2 (<c>WithBackplane</c>): memory-only nodes that share only notifications and invalidations;
/// nothing is stored in Redis (SEMANTICS §4b, FusionCache's "backplane without distributed cache").
/// </summary>
public sealed class BackplaneOnlyTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => redis.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    private (FusionCache A, FusionCache B, NodeLog LogA, NodeLog LogB) Start(string cacheName)
    {
        var (logA, logB) = (new NodeLog(), new NodeLog());
        FusionCache Node(NodeLog nodeLog) => new FusionCacheBuilder().WithLogger(nodeLog).WithDuration(TimeSpan.FromMinutes(1))
            .WithBackplane(redis.Server.ConnectionString(), cacheName).Build();
        var a = Node(logA);
        var b = Node(logB);
        SpinWait.SpinUntil(() => a.Distributed!.IsReady && b.Distributed!.IsReady, Nodes.Bound);
        return (a, b, logA, logB);
    }

    [Fact]
    public async Task ASetOnA_MakesBDropItsCopyAndRunItsFactory_AndNothingIsStoredInRedis()
    {
        var (a, b, logA, logB) = Start("bponly1");
        using var _ = a;
        using var __ = b;
        await Nodes.WaitSubscribed(await Admin.Of(redis), StackExchange.Redis.RedisChannel.Literal("bponly1:backplane:v2"), 2);
        Assert.Equal("b1", await Expect.Right(b.GetOrSet<string>("k", TestFactory<string>.Returning("b1").Invoke)));
        var applied = Interlocked.Read(ref b.Distributed!.Backplane.Applied);

        await a.Set("k", "a1");
        await Poll.Until(() => Task.FromResult(Interlocked.Read(ref b.Distributed!.Backplane.Applied) > applied), Nodes.Bound, "B hears of A's Set");

        var refreshed = TestFactory<string>.Returning("b2");
        Assert.Equal("b2", await Expect.Right(b.GetOrSet<string>("k", refreshed.Invoke))); // no L2 to read A's value from
        Assert.Equal(1, refreshed.Calls);
        Assert.Equal("0", await redis.Server.SendAsync("DBSIZE"));
        log.WriteLine(logA.ToString());
        log.WriteLine(logB.ToString());
    }

    [Fact]
    public async Task ARemoveByTagOnA_ReachesB_WithoutAnyMarkInRedis()
    {
        var (a, b, _, _) = Start("bponly2");
        using var __ = a;
        using var ___ = b;
        await Nodes.WaitSubscribed(await Admin.Of(redis), StackExchange.Redis.RedisChannel.Literal("bponly2:backplane:v2"), 2);
        var red = new FusionCacheEntryOptions { Tags = ["red"] };
        Assert.Equal("v", await Expect.Right(b.GetOrSet<string>("k", TestFactory<string>.Returning("v").Invoke, red)));

        await a.RemoveByTag("red");

        await Poll.Until(async () => (await b.TryGet<string>("k")).IsNone, Nodes.Bound, "B hears of the RemoveByTag");
        Assert.Equal("0", await redis.Server.SendAsync("DBSIZE"));
    }
}
