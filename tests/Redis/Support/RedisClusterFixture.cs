using StackExchange.Redis;

namespace Fusion.Tests.Redis.Support;

/// <summary>
/// One <see cref="RedisCluster"/> for a test class (<c>IClassFixture&lt;RedisClusterFixture&gt;</c>); see
/// <see cref="RedisServerFixture"/> for how tests share it.
/// </summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    private readonly Connections connections = new();
    private RedisCluster? cluster;

    /// <summary>The cluster; available once xunit has initialised the fixture.</summary>
    public RedisCluster Cluster => cluster ?? throw new InvalidOperationException("the fixture is not initialised");

    /// <summary>A fresh multiplexer on the whole cluster, from <see cref="RedisCluster.Configuration"/>.</summary>
    public Task<ConnectionMultiplexer> ConnectAsync(bool allowAdmin = true, bool fastReconnect = false) =>
        connections.ConnectAsync(Cluster.Configuration(allowAdmin, fastReconnect));

    /// <summary>
    /// Restarts any node a test killed, stopped or paused, waits until the cluster is healthy again, then deletes every
    /// key on every node.
    /// </summary>
    public async Task ResetAsync()
    {
        var restarted = false;
        foreach (var node in Cluster.Nodes.Where(node => !node.IsRunning || node.IsPaused))
        {
            node.Kill();
            await node.RestartAsync();
            restarted = true;
        }
        if (restarted) await Cluster.WaitUntilHealthyAsync();
        foreach (var node in Cluster.Nodes) await node.SendAsync("FLUSHALL");
    }

    /// <inheritdoc />
    public async Task InitializeAsync() => cluster = await RedisCluster.StartAsync();

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await connections.DisposeAsync();
        cluster?.Dispose();
    }
}
