using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>Fusion on a local three-master Redis Cluster: L2 keys spread over the masters, and the backplane crosses them.</summary>
public sealed class ClusterTests(RedisClusterFixture redis, ITestOutputHelper log) : IClassFixture<RedisClusterFixture>
{
    private Nodes Start(int count) =>
        Nodes.Start(redis.Cluster.ConnectionString(), count, b => b.WithDuration(TimeSpan.FromMinutes(1)), log);

    [Fact]
    public async Task KeysWrittenThroughFusion_LandOnEveryMaster()
    {
        using var nodes = Start(1);

        for (var i = 0; i < 60; i++) await nodes.A.Set($"key-{i}", i);

        var admin = await Admin.Of(redis);
        var keys = await Task.WhenAll(redis.Cluster.Endpoints.Select(async endpoint =>
        {
            var found = new List<string>();
            await foreach (var key in admin.GetServer(endpoint).KeysAsync(pattern: nodes.RedisKey("*"))) found.Add(key.ToString());
            return found;
        }));
        Assert.All(keys, onNode => Assert.NotEmpty(onNode));
        Assert.Equal(60, keys.Sum(onNode => onNode.Count));
        var reader = nodes.Add(b => b.WithDuration(TimeSpan.FromMinutes(1)));
        var factory = TestFactory<int>.Returning(-1);
        for (var i = 0; i < 60; i++) Assert.Equal(i, await Expect.Right(reader.GetOrSet<int>($"key-{i}", factory.Invoke)));
        Assert.Equal(0, factory.Calls);
    }

    [Fact]
    public async Task Set_OnA_IsSeenByB_AcrossTheCluster()
    {
        using var nodes = Start(2);
        await Subscribed(nodes);
        var factory = TestFactory<string>.Returning("from the factory");
        await nodes.Delivered(0, a => a.Set("k", "v1"));
        Assert.Equal("v1", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke)));

        await nodes.Delivered(0, a => a.Set("k", "v2"));
        Assert.Equal("v2", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke)));
        await nodes.Delivered(1, b => b.Remove("k"));
        Expect.None(await nodes.A.TryGet<string>("k"));
        Assert.Equal(0, factory.Calls);
    }

    /// <summary>Publishes a foreign notice for a key nobody has until every node has applied one: then all are subscribed.</summary>
    private async Task Subscribed(Nodes nodes)
    {
        var publisher = (await Admin.Of(redis)).GetSubscriber();
        await Poll.Until(async () =>
        {
            await publisher.PublishAsync(nodes.Channel, Wire.Notice(Wire.Set, Guid.NewGuid(), DateTimeOffset.UtcNow.UtcTicks, "nobody-has-this"));
            await Task.Delay(50);
            return Enumerable.Range(0, nodes.Count).All(i => nodes.Applied(i) > 0);
        }, Nodes.Bound, "every node receives a message on the channel");
        await Task.Delay(100); // the last probes arrive before the test counts
    }
}
