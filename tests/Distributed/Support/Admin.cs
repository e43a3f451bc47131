using System.Runtime.CompilerServices;
using Fusion.Tests.Redis.Support;
using StackExchange.Redis;

namespace Fusion.Tests.Distributed.Support;

/// <summary>
/// One plain StackExchange.Redis connection per fixture, for what the tests do behind the cache's back: read and write
/// raw L2 values, publish on the channel, count subscribers. The fixture disposes it.
/// </summary>
internal static class Admin
{
    private static readonly ConditionalWeakTable<object, Task<ConnectionMultiplexer>> Connections = new();

    public static Task<ConnectionMultiplexer> Of(RedisServerFixture fixture) =>
        Connections.GetValue(fixture, static f => ((RedisServerFixture)f).ConnectAsync());

    public static Task<ConnectionMultiplexer> Of(RedisClusterFixture fixture) =>
        Connections.GetValue(fixture, static f => ((RedisClusterFixture)f).ConnectAsync());

    /// <summary>The envelope stored under the cache key <paramref name="key"/>; fails when there is none.</summary>
    public static async Task<Wire.Envelope> Stored(this IConnectionMultiplexer admin, Nodes nodes, string key)
    {
        var bytes = (byte[]?)await admin.GetDatabase().StringGetAsync(nodes.RedisKey(key));
        Assert.True(bytes is not null, $"L2 has nothing under {nodes.RedisKey(key)}");
        return Wire.Decode(bytes);
    }
}
