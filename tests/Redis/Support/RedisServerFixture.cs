using StackExchange.Redis;

namespace Fusion.Tests.Redis.Support;

/// <summary>
/// One <see cref="RedisServer"/> for a test class (<c>IClassFixture&lt;RedisServerFixture&gt;</c>). Tests of a class
/// run one at a time; a test class that needs a clean server per test calls <see cref="ResetAsync"/> from its own
/// <c>IAsyncLifetime.InitializeAsync</c>. Multiplexers made by <see cref="ConnectAsync"/> are disposed with the fixture.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private readonly Connections connections = new();
    private RedisServer? server;

    /// <summary>The server; available once xunit has initialised the fixture.</summary>
    public RedisServer Server => server ?? throw new InvalidOperationException("the fixture is not initialised");

    /// <summary>
    /// A fresh multiplexer on the server, from <see cref="RedisServer.Configuration"/>: it connects even when the
    /// server is down and reconnects by itself (about 2 s after a restart, 0.1 s with <paramref name="fastReconnect"/>).
    /// </summary>
    public Task<ConnectionMultiplexer> ConnectAsync(bool allowAdmin = true, bool fastReconnect = false) =>
        connections.ConnectAsync(Server.Configuration(allowAdmin, fastReconnect));

    /// <summary>
    /// Leaves the server running and empty: restarts it if a test killed, stopped or paused it (a restart starts
    /// empty and ends a pause), otherwise deletes every key (<c>FLUSHALL</c>).
    /// </summary>
    public async Task ResetAsync()
    {
        if (Server.IsRunning && !Server.IsPaused)
        {
            await Server.SendAsync("FLUSHALL");
            return;
        }
        Server.Kill();
        await Server.RestartAsync();
    }

    /// <inheritdoc />
    public async Task InitializeAsync() => server = await RedisServer.StartAsync();

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await connections.DisposeAsync();
        server?.Dispose();
    }
}
