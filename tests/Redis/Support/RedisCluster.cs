using System.Diagnostics;
using StackExchange.Redis;

namespace Fusion.Tests.Redis.Support;

/// <summary>
/// A local Redis Cluster of three masters and no replicas, each a <see cref="RedisServer"/> on 127.0.0.1 with its
/// own directory and <c>nodes-N.conf</c> (so a killed node restarts into the cluster). Disposing kills every node.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable, IDisposable
{
    /// <summary>Number of master nodes: 3, the fewest Redis Cluster accepts.</summary>
    public const int Masters = 3;

    /// <summary>How long forming the cluster, or getting it back to <c>cluster_state:ok</c>, may take: 30 seconds.</summary>
    public static readonly TimeSpan FormBound = TimeSpan.FromSeconds(30);

    private RedisCluster(IReadOnlyList<RedisServer> nodes) => Nodes = nodes;

    /// <summary>The master nodes, in the order given to <c>redis-cli --cluster create</c>.</summary>
    public IReadOnlyList<RedisServer> Nodes { get; }

    /// <summary>The nodes' <c>127.0.0.1:port</c> endpoints.</summary>
    public IReadOnlyList<string> Endpoints => [.. Nodes.Select(node => node.Endpoint)];

    /// <summary>A StackExchange.Redis connection string listing every node; see <see cref="RedisClientOptions.ConnectionString"/>.</summary>
    public string ConnectionString(bool allowAdmin = true) => RedisClientOptions.ConnectionString(Endpoints, allowAdmin);

    /// <summary>StackExchange.Redis options listing every node; see <see cref="RedisClientOptions.Configuration"/>.</summary>
    public ConfigurationOptions Configuration(bool allowAdmin = true, bool fastReconnect = false) =>
        RedisClientOptions.Configuration(Endpoints, allowAdmin, fastReconnect);

    /// <summary>Starts three nodes, joins them into a cluster, and returns once every node reports it healthy.</summary>
    public static async Task<RedisCluster> StartAsync()
    {
        var nodes = new List<RedisServer>();
        try
        {
            for (var i = 1; i <= Masters; i++)
                nodes.Add(await RedisServer.StartAsync(
                    ["--cluster-enabled", "yes", "--cluster-config-file", $"nodes-{i}.conf", "--cluster-node-timeout", "2000"],
                    needsBusPort: true));
            await CreateAsync(nodes);
            var cluster = new RedisCluster(nodes);
            await cluster.WaitUntilHealthyAsync();
            return cluster;
        }
        catch
        {
            foreach (var node in nodes) node.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Returns once every node reports <c>cluster_state:ok</c>, all 16384 slots served and all three nodes known;
    /// throws with each node's <c>CLUSTER INFO</c> if that does not happen within <see cref="FormBound"/>.
    /// </summary>
    public async Task WaitUntilHealthyAsync()
    {
        var info = new string?[Nodes.Count];
        try
        {
            await Poll.Until(async () =>
            {
                for (var i = 0; i < Nodes.Count; i++) info[i] = await Nodes[i].SendAsync("CLUSTER", "INFO");
                return info.All(Healthy);
            }, FormBound, "every cluster node reports cluster_state:ok");
        }
        catch (TimeoutException e)
        {
            var report = Nodes.Select((node, i) => $"--- {node.Endpoint} ---{Environment.NewLine}{info[i] ?? "(no answer)"}");
            throw new TimeoutException($"{e.Message}{Environment.NewLine}{string.Join(Environment.NewLine, report)}", e);
        }
    }

    /// <summary>Kills every node and deletes their directories.</summary>
    public void Dispose()
    {
        foreach (var node in Nodes) node.Dispose();
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static bool Healthy(string? info) =>
        info is not null
        && info.Contains("cluster_state:ok\r")
        && info.Contains("cluster_slots_ok:16384\r")
        && info.Contains($"cluster_known_nodes:{Masters}\r");

    /// <summary>Runs <c>redis-cli --cluster create</c> over the nodes, bounded by <see cref="FormBound"/>.</summary>
    private static async Task CreateAsync(IReadOnlyList<RedisServer> nodes)
    {
        var start = new ProcessStartInfo("redis-cli")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--cluster");
        start.ArgumentList.Add("create");
        foreach (var node in nodes) start.ArgumentList.Add(node.Endpoint);
        foreach (var arg in (string[])["--cluster-replicas", "0", "--cluster-yes"]) start.ArgumentList.Add(arg);

        using var cli = Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start");
        var output = new ServerOutput();
        output.Collect(cli, "redis-cli");
        using var bound = new CancellationTokenSource(FormBound);
        try
        {
            await cli.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            cli.Kill();
            throw new TimeoutException($"redis-cli --cluster create did not finish within {FormBound.TotalSeconds:0}s. Output:{Environment.NewLine}{output}");
        }
        cli.WaitForExit(); // Drains the output.
        if (cli.ExitCode != 0)
            throw new InvalidOperationException($"redis-cli --cluster create failed with code {cli.ExitCode}. Output:{Environment.NewLine}{output}");
    }
}
