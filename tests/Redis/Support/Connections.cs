using StackExchange.Redis;

namespace Fusion.Tests.Redis.Support;

/// <summary>The multiplexers a fixture handed out, disposed together when the fixture is.</summary>
internal sealed class Connections : IAsyncDisposable
{
    private readonly List<ConnectionMultiplexer> opened = [];

    /// <summary>Connects with <paramref name="configuration"/> and remembers the multiplexer.</summary>
    public async Task<ConnectionMultiplexer> ConnectAsync(ConfigurationOptions configuration)
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(configuration);
        lock (opened) opened.Add(connection);
        return connection;
    }

    /// <summary>Disposes every multiplexer handed out (disposing one twice is harmless).</summary>
    public async ValueTask DisposeAsync()
    {
        ConnectionMultiplexer[] all;
        lock (opened)
        {
            all = [.. opened];
            opened.Clear();
        }
        foreach (var connection in all) await connection.DisposeAsync();
    }
}
