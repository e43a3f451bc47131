using Fusion.Tests.Redis.Support;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed.Support;

/// <summary>
/// Several nodes (one <see cref="FusionCache"/> each, each on a connection of its own, real clock) sharing one Redis
/// under a cache name no other test uses. Disposing disposes every node.
/// </summary>
internal sealed class Nodes : IDisposable
{
    /// <summary>How long a notification, a reconnect or a replay may take to show: generous, it is only a bound.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly List<FusionCache> nodes = [];
    private readonly List<NodeLog> logs = [];

    private readonly ITestOutputHelper? output;

    private Nodes(string connectionString, string cacheName, ITestOutputHelper? output)
    {
        ConnectionString = connectionString;
        CacheName = cacheName;
        this.output = output;
    }

    public string ConnectionString { get; }
    public string CacheName { get; }

    /// <summary>The L2 key of <paramref name="key"/> (docs/wire-format.md).</summary>
    public string RedisKey(string key) => $"{CacheName}:v{Wire.Version}:{key}";

    /// <summary>The backplane channel of the cache name.</summary>
    public RedisChannel Channel => RedisChannel.Literal($"{CacheName}:backplane:v{Wire.Version}");

    public FusionCache this[int index] => nodes[index];
    public FusionCache A => nodes[0];
    public FusionCache B => nodes[1];
    public FusionCache C => nodes[2];
    public int Count => nodes.Count;

    /// <summary>What node <paramref name="index"/> logged.</summary>
    public NodeLog Log(int index) => logs[index];

    /// <summary>Builds <paramref name="count"/> nodes on <paramref name="connectionString"/>; <paramref name="configure"/>
    /// adds options to each builder (Redis and the logger are set here). Their logs go to <paramref name="output"/> at the end.</summary>
    public static Nodes Start(string connectionString, int count, Func<FusionCacheBuilder, FusionCacheBuilder>? configure = null,
        ITestOutputHelper? output = null)
    {
        var group = new Nodes(connectionString, $"t{Guid.NewGuid():N}"[..13], output);
        for (var i = 0; i < count; i++) group.Add(configure);
        return group;
    }

    /// <summary>Adds one more node, built like the others; on <paramref name="connectionString"/> when given (a proxy).</summary>
    public FusionCache Add(Func<FusionCacheBuilder, FusionCacheBuilder>? configure = null, string? connectionString = null)
    {
        var log = new NodeLog();
        var builder = new FusionCacheBuilder().WithLogger(log).WithRedis(connectionString ?? ConnectionString, CacheName);
        var node = (configure?.Invoke(builder) ?? builder).Build();
        // Build() does not wait for Redis; a test that expects it up waits here (bounded; a test of Redis down goes on).
        // Ready means subscribed too: a node connected but not yet subscribed would miss notifications.
        SpinWait.SpinUntil(() => node.Distributed!.IsReady, ConnectBound);
        log.Note($"built; connected: {node.Distributed!.IsConnected}, subscribed: {node.Distributed!.Backplane.IsSubscribed}");
        nodes.Add(node);
        logs.Add(log);
        return node;
    }

    /// <summary>How long a new node may take to connect before a test goes on without it.</summary>
    public static readonly TimeSpan ConnectBound = TimeSpan.FromSeconds(2);

    /// <summary>Backplane messages node <paramref name="index"/> applied (not its own, not malformed ones).</summary>
    public long Applied(int index) => Interlocked.Read(ref nodes[index].Distributed!.Backplane.Applied);

    /// <summary>Waits until node <paramref name="index"/> has applied at least <paramref name="count"/> messages.</summary>
    public async Task WaitApplied(int index, long count)
    {
        try
        {
            await Poll.Until(() => Task.FromResult(Applied(index) >= count), Bound, $"node {index} applies {count} backplane message(s)");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; it applied {Applied(index)}{Environment.NewLine}{Logs()}", e);
        }
    }

    /// <summary>
    /// Runs a write on node <paramref name="sender"/> and waits until every other node has applied one more backplane
    /// message: its notification. Tests make every notifying write through this, so no earlier message is in flight.
    /// The write is made a clock step after what came before (<see cref="ClockStep"/>), so it is stamped later.
    /// </summary>
    public async Task Delivered(int sender, Func<FusionCache, Task> write)
    {
        await ClockStep.Pass();
        var before = Enumerable.Range(0, Count).Select(Applied).ToArray();
        await write(nodes[sender]);
        for (var i = 0; i < Count; i++)
            if (i != sender) await WaitApplied(i, before[i] + 1);
    }

    /// <inheritdoc cref="Delivered(int, Func{FusionCache, Task})"/>
    public Task Delivered(int sender, Func<FusionCache, ValueTask> write) => Delivered(sender, node => write(node).AsTask());

    /// <summary>Waits until Redis counts <paramref name="expected"/> subscribers on the channel (single server only),
    /// so that no notification sent from now on is missed.</summary>
    public async Task WaitSubscribed(IConnectionMultiplexer admin, int? expected = null)
    {
        try
        {
            await WaitSubscribed(admin, Channel, expected ?? Count);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}{Environment.NewLine}{Logs()}", e);
        }
    }

    /// <summary>Every node's log, for failure messages.</summary>
    public string Logs() => string.Join(Environment.NewLine, logs.Select((log, i) => $"--- node {i} ---{Environment.NewLine}{log}"));

    /// <inheritdoc cref="WaitSubscribed(IConnectionMultiplexer, int?)"/>
    public static Task WaitSubscribed(IConnectionMultiplexer admin, RedisChannel channel, int expected) =>
        Poll.Until(async () => await admin.GetServers().Single().SubscriptionSubscriberCountAsync(channel) >= expected,
            Bound, $"{expected} subscriber(s) on {channel}");

    public void Dispose()
    {
        foreach (var node in nodes) node.Dispose();
        output?.WriteLine(Logs());
    }
}
