using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>Two nodes in two OS processes share L2 and the backplane: a Set in either is seen by the other.</summary>
public sealed class MultiProcessTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task SetInEitherProcess_IsSeenByTheOther_OnceTheNotificationArrives()
    {
        using var nodes = Nodes.Start(redis.Server.ConnectionString(), 1, b => b.WithDuration(TimeSpan.FromMinutes(5)), log);
        await using var child = await ChildNode.StartAsync(redis.Server.ConnectionString(), nodes.CacheName);
        log.WriteLine($"the child process built its cache in {child.BuildTime.TotalMilliseconds:0} ms");
        await nodes.WaitSubscribed(await Admin.Of(redis), expected: 2);
        var factory = TestFactory<string>.Returning("from the factory");

        await nodes.A.Set("k", "v1");
        Assert.Equal("value v1", await child.Send("get k")); // from L2; now in the child's L1
        await ClockStep.Pass();
        await nodes.A.Set("k", "v2");
        await Poll.Until(async () => await child.Send("get k") == "value v2", Nodes.Bound, "the child sees v2");

        Assert.Equal("v2", await Expect.Right(nodes.A.GetOrSet<string>("k", factory.Invoke))); // in this process's L1
        await ClockStep.Pass();
        Assert.Equal("ok", await child.Send("set k v3"));
        await nodes.WaitApplied(0, 1);
        Assert.Equal("v3", await Expect.Right(nodes.A.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(0, factory.Calls);
    }
}
