using StackExchange.Redis;

namespace Fusion.Tests.Redis.Support;

/// <summary>StackExchange.Redis settings for tests against the local servers.</summary>
public static class RedisClientOptions
{
    /// <summary>Reconnect attempt interval and heartbeat with <c>fastReconnect</c>: 100 ms.</summary>
    public static readonly TimeSpan FastReconnectInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// A connection string for <paramref name="endpoints"/>: start even when Redis is down (<c>abortConnect=false</c>),
    /// and 2-second connect, sync and async timeouts so a dead or paused server fails a command within about 3 s
    /// (timeouts are checked on the 1-second heartbeat).
    /// </summary>
    public static string ConnectionString(IEnumerable<string> endpoints, bool allowAdmin = true) =>
        $"{string.Join(",", endpoints)},abortConnect=false,connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000,allowAdmin={(allowAdmin ? "true" : "false")}";

    /// <summary>
    /// The options of <see cref="ConnectionString"/>; with <paramref name="fastReconnect"/> the client also retries
    /// every 100 ms (linear) and heartbeats every 100 ms, so it is back about 0.1 s after a restarted server answers
    /// instead of about 2 s. Neither setting has a connection-string keyword.
    /// </summary>
    public static ConfigurationOptions Configuration(IEnumerable<string> endpoints, bool allowAdmin = true, bool fastReconnect = false)
    {
        var options = ConfigurationOptions.Parse(ConnectionString(endpoints, allowAdmin));
        if (fastReconnect)
        {
            options.ReconnectRetryPolicy = new LinearRetry((int)FastReconnectInterval.TotalMilliseconds);
            options.HeartbeatInterval = FastReconnectInterval;
        }
        return options;
    }
}
