using System.Collections.Concurrent;
using System.Diagnostics;
using Fusion.Tests.Redis.Support;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Fusion.Tests.Redis;

/// <summary>The single-server fixture works with plain StackExchange.Redis: commands, crash, restart, pause.</summary>
public sealed class RedisServerFixtureTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    /// <summary>How long a multiplexer may take to notice a restarted server and reconnect.</summary>
    private static readonly TimeSpan ReconnectBound = TimeSpan.FromSeconds(20);

    public Task InitializeAsync() => redis.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Set_ThenGet_ReturnsTheValue()
    {
        var db = (await redis.ConnectAsync()).GetDatabase();

        await db.StringSetAsync("k", "v");

        Assert.Equal("v", (string?)await db.StringGetAsync("k"));
        Assert.StartsWith("127.0.0.1:", redis.Server.Endpoint);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Kill_MakesCommandsFail_AndRestart_LetsTheSameMultiplexerReconnect(bool fastReconnect)
    {
        var connection = await redis.ConnectAsync(fastReconnect: fastReconnect);
        var db = connection.GetDatabase();
        await db.StringSetAsync("k", "v");

        var clock = Stopwatch.StartNew();
        redis.Server.Kill();
        log.WriteLine($"kill: {clock.ElapsedMilliseconds} ms");
        Assert.False(redis.Server.IsRunning);

        clock.Restart();
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => db.PingAsync());
        Assert.True(failure is RedisException or TimeoutException, failure.ToString());
        log.WriteLine($"first command after kill failed in {clock.ElapsedMilliseconds} ms");

        clock.Restart();
        await redis.Server.RestartAsync();
        log.WriteLine($"restart until PING answers: {clock.ElapsedMilliseconds} ms");
        Assert.True(redis.Server.IsRunning);

        clock.Restart();
        await Poll.Until(async () => { await db.PingAsync(); return true; }, ReconnectBound, "the multiplexer reconnects");
        log.WriteLine($"multiplexer reconnected after {clock.ElapsedMilliseconds} ms");

        Assert.True(connection.IsConnected);
        Assert.False((await db.StringGetAsync("k")).HasValue); // No persistence: a restarted server is empty.
        await db.StringSetAsync("k", "again");
        Assert.Equal("again", (string?)await db.StringGetAsync("k"));
    }

    [Fact]
    public async Task Pause_HoldsCommands_ForTheDuration()
    {
        var db = (await redis.ConnectAsync()).GetDatabase();
        await db.PingAsync();

        await redis.Server.PauseAsync(TimeSpan.FromMilliseconds(500));
        var clock = Stopwatch.StartNew();
        await db.PingAsync();
        log.WriteLine($"PING during a 500 ms pause took {clock.ElapsedMilliseconds} ms");

        Assert.InRange(clock.ElapsedMilliseconds, 300, 1900);
    }

    [Fact]
    public async Task Reset_AfterALongPause_LeavesAnEmptyServerThatAnswersAtOnce()
    {
        var db = (await redis.ConnectAsync()).GetDatabase();
        await db.StringSetAsync("k", "v");
        await redis.Server.PauseAsync(TimeSpan.FromMinutes(1));
        Assert.True(redis.Server.IsPaused);

        await redis.ResetAsync();

        Assert.False(redis.Server.IsPaused);
        Assert.Null(await redis.Server.SendAsync("GET", "k"));
    }

    [Fact]
    public async Task Stop_ThenRestart_ServesOnTheSamePort()
    {
        var port = redis.Server.Port;

        await redis.Server.StopAsync();
        Assert.False(redis.Server.IsRunning);
        await redis.Server.RestartAsync();

        Assert.Equal(port, redis.Server.Port);
        var db = (await redis.ConnectAsync()).GetDatabase();
        await db.StringSetAsync("k", "v");
        Assert.Equal("v", (string?)await db.StringGetAsync("k"));
    }
}

/// <summary>The cluster fixture forms a working three-master cluster: keys spread over the nodes, pub/sub crosses them.</summary>
public sealed class RedisClusterFixtureTests(RedisClusterFixture redis) : IClassFixture<RedisClusterFixture>, IAsyncLifetime
{
    private static readonly TimeSpan DeliveryBound = TimeSpan.FromSeconds(10);

    public Task InitializeAsync() => redis.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task HundredKeys_WrittenThroughOneMultiplexer_LandOnEveryMaster()
    {
        var connection = await redis.ConnectAsync();
        var db = connection.GetDatabase();

        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => db.StringSetAsync($"key-{i}", i)));

        var sizes = await Task.WhenAll(redis.Cluster.Endpoints.Select(endpoint => connection.GetServer(endpoint).DatabaseSizeAsync()));
        Assert.All(sizes, size => Assert.True(size > 0, $"key counts per node: {string.Join(", ", sizes)}"));
        Assert.Equal(100, sizes.Sum());
    }

    [Fact]
    public async Task Publish_ThroughAnyNode_ReachesASubscriberOnTheClusterConnection()
    {
        var channel = RedisChannel.Literal("fusion-test");
        var received = new ConcurrentQueue<string>();
        var subscriber = (await redis.ConnectAsync()).GetSubscriber();
        await subscriber.SubscribeAsync(channel, (_, message) => received.Enqueue(message.ToString()));

        var publisher = await redis.ConnectAsync();
        foreach (var endpoint in redis.Cluster.Endpoints)
            await publisher.GetServer(endpoint).ExecuteAsync("PUBLISH", channel, $"via {endpoint}");

        await Poll.Until(() => Task.FromResult(received.Count == RedisCluster.Masters), DeliveryBound, "one message per publishing node arrives");
        Assert.Equal(redis.Cluster.Endpoints.Select(endpoint => $"via {endpoint}").Order(), received.Order());
    }
}
