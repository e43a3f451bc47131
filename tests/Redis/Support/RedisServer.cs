using System.Diagnostics;
using StackExchange.Redis;

namespace Fusion.Tests.Redis.Support;

/// <summary>
/// A real <c>redis-server</c> process on a free 127.0.0.1 port, without persistence, in a private temp directory.
/// Tests can crash it (<see cref="Kill"/>), bring it back on the same port (<see cref="RestartAsync"/>) and slow it
/// down (<see cref="PauseAsync"/>). Disposing kills it and deletes its directory; the test run's exit kills any left.
/// </summary>
public sealed class RedisServer : IAsyncDisposable, IDisposable
{
    /// <summary>How long a start or restart may take before it fails with the server's output: 10 seconds.</summary>
    public static readonly TimeSpan StartBound = TimeSpan.FromSeconds(10);

    /// <summary>Starts tried on fresh ports when another process takes the chosen one first.</summary>
    private const int PortAttempts = 5;

    private readonly string[] extraArguments;
    private readonly ServerOutput output = new();
    private Process? process;
    private DateTime pausedUntil;
    private bool disposed;

    private RedisServer(int port, string directory, string[] extraArguments)
    {
        Port = port;
        Directory = directory;
        this.extraArguments = extraArguments;
    }

    /// <summary>The port the server listens on, for its whole life (restarts included).</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:Port</c>.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>The server's private working directory (deleted on dispose).</summary>
    public string Directory { get; }

    /// <summary>Whether the server process is alive (false after <see cref="Kill"/> or <see cref="StopAsync"/>).</summary>
    public bool IsRunning => process is { HasExited: false };

    /// <summary>Whether a <see cref="PauseAsync"/> may still be holding commands (judged by the local clock).</summary>
    public bool IsPaused => IsRunning && DateTime.UtcNow < pausedUntil;

    /// <summary>The last lines the server printed, across restarts.</summary>
    public string Output => output.ToString();

    /// <summary>A StackExchange.Redis connection string for this server; see <see cref="RedisClientOptions.ConnectionString"/>.</summary>
    public string ConnectionString(bool allowAdmin = true) => RedisClientOptions.ConnectionString([Endpoint], allowAdmin);

    /// <summary>StackExchange.Redis options for this server; see <see cref="RedisClientOptions.Configuration"/>.</summary>
    public ConfigurationOptions Configuration(bool allowAdmin = true, bool fastReconnect = false) =>
        RedisClientOptions.Configuration([Endpoint], allowAdmin, fastReconnect);

    /// <summary>Starts a server on a free port and returns once it answers.</summary>
    public static Task<RedisServer> StartAsync() => StartAsync([], needsBusPort: false);

    /// <summary>
    /// Starts a server with <paramref name="extraArguments"/> after the standard ones; with
    /// <paramref name="needsBusPort"/> on a port whose cluster-bus port is free too.
    /// </summary>
    internal static async Task<RedisServer> StartAsync(string[] extraArguments, bool needsBusPort)
    {
        for (var attempt = 1; ; attempt++)
        {
            var server = new RedisServer(LoopbackPort.Find(needsBusPort), ServerProcesses.NewDirectory(), extraArguments);
            try
            {
                await server.LaunchAsync();
                return server;
            }
            catch (PortTakenException) when (attempt < PortAttempts)
            {
                server.Dispose();
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Kills the process at once (SIGKILL), like a crash: clients see their connections reset. Data is lost.
    /// Does nothing if the server is not running.
    /// </summary>
    public void Kill()
    {
        if (process is not { } p) return;
        process = null;
        pausedUntil = default;
        ServerProcesses.Kill(p);
        p.Dispose();
    }

    /// <summary>Shuts the server down cleanly (<c>SHUTDOWN NOSAVE</c>), killing it if it does not exit within 5 s.</summary>
    public async Task StopAsync()
    {
        if (process is not { } p) return;
        try
        {
            await RespProbe.SendAsync(Port, "SHUTDOWN", "NOSAVE");
        }
        catch (Exception e) when (e is IOException or TimeoutException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            // Redis closes the connection instead of replying to SHUTDOWN.
        }
        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await p.WaitForExitAsync(exit.Token);
        }
        catch (OperationCanceledException)
        {
        }
        Kill();
    }

    /// <summary>Starts the server again on the same port after <see cref="Kill"/> or <see cref="StopAsync"/>; returns once it answers. It starts empty.</summary>
    public Task RestartAsync()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (IsRunning) throw new InvalidOperationException($"redis {Endpoint} is already running");
        Kill(); // Forget a process that exited by itself.
        return LaunchAsync();
    }

    /// <summary>
    /// Makes the server hold every client command for <paramref name="duration"/> (<c>CLIENT PAUSE ms ALL</c>),
    /// like a slow Redis. Returns as soon as the pause is in effect; connections stay open. A pause cannot be lifted
    /// early except by <see cref="Kill"/>.
    /// </summary>
    public async Task PauseAsync(TimeSpan duration)
    {
        await RespProbe.SendAsync(Port, "CLIENT", "PAUSE", ((long)duration.TotalMilliseconds).ToString(), "ALL");
        pausedUntil = DateTime.UtcNow + duration;
    }

    /// <summary>Sends one command straight to the server, bypassing any client; see <see cref="RespProbe.SendAsync"/>.</summary>
    internal Task<string?> SendAsync(params string[] args) => RespProbe.SendAsync(Port, args);

    /// <summary>Kills the server and deletes its directory.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        Kill();
        ServerProcesses.Delete(Directory);
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task LaunchAsync()
    {
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        foreach (var arg in (string[])["--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--dir", Directory])
            start.ArgumentList.Add(arg);
        foreach (var arg in extraArguments) start.ArgumentList.Add(arg);

        Process p;
        try
        {
            p = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("redis-server is not installed (apt-get install redis-server): " + e.Message, e);
        }
        process = p;
        ServerProcesses.Track(p, Directory);
        output.Collect(p, $"redis {Port} pid {p.Id}");
        await WaitUntilReadyAsync(p);
    }

    /// <summary>
    /// Waits until this very process answers on the port: <c>INFO server</c> must name its pid, since on a port
    /// collision another server could be the one answering.
    /// </summary>
    private async Task WaitUntilReadyAsync(Process p)
    {
        var clock = Stopwatch.StartNew();
        var expected = $"process_id:{p.Id}\r";
        while (true)
        {
            if (p.HasExited)
            {
                p.WaitForExit(); // Drains the output.
                if (output.Contains("Address already in use")) throw new PortTakenException();
                throw new InvalidOperationException($"redis-server on {Endpoint} exited with code {p.ExitCode} while starting. Output:{Environment.NewLine}{Output}");
            }
            try
            {
                if ((await SendAsync("INFO", "server"))?.Contains(expected) == true) return;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or InvalidOperationException)
            {
                // Not listening yet.
            }
            if (clock.Elapsed > StartBound)
            {
                Kill();
                throw new TimeoutException($"redis-server on {Endpoint} did not answer within {StartBound.TotalSeconds:0}s. Output:{Environment.NewLine}{Output}");
            }
            await Task.Delay(10);
        }
    }

    /// <summary>The chosen port was taken between finding it and the server binding it.</summary>
    private sealed class PortTakenException : Exception;
}
