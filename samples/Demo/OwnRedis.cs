using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Demo;

/// <summary>
/// A redis-server process the demo starts on a free 127.0.0.1 port (no persistence, in a temp directory), so it
/// may stop and restart it. Every wait is bounded. Dispose kills it; so do Ctrl+C, SIGTERM, SIGHUP, SIGQUIT and the
/// process's exit.
/// </summary>
internal sealed class OwnRedis : IDisposable
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan ProbeBound = TimeSpan.FromSeconds(1);

    private readonly object _gate = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("fusion-demo-redis-").FullName;
    private readonly Queue<string> _output = new(); // the server's last lines, for error messages
    private readonly PosixSignalRegistration[] _signals;
    private Process? _process;
    private bool _disposed;

    private OwnRedis(int port)
    {
        Port = port;
        AppDomain.CurrentDomain.ProcessExit += OnExit;
        // The signal then goes on to end the demo as usual.
        _signals = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT }
            .Select(signal => PosixSignalRegistration.Create(signal, _ => Dispose()))];
    }

    public int Port { get; }
    public string Endpoint => $"127.0.0.1:{Port}";
    public int? Pid { get { lock (_gate) return _process?.Id; } }

    /// <summary>Starts redis-server on a free port and returns once it answers (a few attempts if the port is taken meanwhile).</summary>
    public static async Task<OwnRedis> Start()
    {
        for (var attempt = 1; ; attempt++)
        {
            var server = new OwnRedis(FreePort());
            try
            {
                await server.Launch();
                return server;
            }
            catch (Exception) when (attempt < 3 && server.PortTaken)
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

    /// <summary>Stops the server (SHUTDOWN NOSAVE), killing it if it has not exited within a few seconds.</summary>
    public async Task Stop()
    {
        Process? p;
        lock (_gate) p = _process;
        if (p is null) return;
        try { await Send("SHUTDOWN", "NOSAVE"); }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException) { } // it closes the connection instead of replying
        using var bound = new CancellationTokenSource(StopBound);
        try { await p.WaitForExitAsync(bound.Token); }
        catch (OperationCanceledException) { }
        Kill();
    }

    /// <summary>Starts the server again on the same port; it starts empty.</summary>
    public Task Restart()
    {
        Kill();
        return Launch();
    }

    /// <summary>Sends one command on a fresh connection and returns the reply: a bulk string's bytes, the text of a
    /// simple string or integer, or null. An error reply throws.</summary>
    public async Task<byte[]?> Send(params string[] args)
    {
        using var bound = new CancellationTokenSource(ProbeBound);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port, bound.Token);
        var stream = new BufferedStream(client.GetStream());
        var command = new StringBuilder($"*{args.Length}\r\n");
        foreach (var arg in args) command.Append($"${Encoding.UTF8.GetByteCount(arg)}\r\n{arg}\r\n");
        await stream.WriteAsync(Encoding.UTF8.GetBytes(command.ToString()), bound.Token);
        await stream.FlushAsync(bound.Token);

        var header = await ReadLine(stream, bound.Token);
        switch (header[0])
        {
            case '+' or ':': return Encoding.UTF8.GetBytes(header[1..]);
            case '-': throw new InvalidOperationException($"redis replied to {args[0]}: {header[1..]}");
            case '$' when header == "$-1": return null;
            case '$':
                var bytes = new byte[int.Parse(header[1..]) + 2];
                await stream.ReadExactlyAsync(bytes, bound.Token);
                return bytes[..^2];
            default: throw new NotSupportedException($"reply '{header}' from redis");
        }
    }

    /// <summary>Kills the server if it runs and deletes its directory. Safe to call more than once, from any thread.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        AppDomain.CurrentDomain.ProcessExit -= OnExit;
        foreach (var signal in _signals) signal.Dispose();
        Kill();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private bool PortTaken { get { lock (_output) return _output.Any(l => l.Contains("Address already in use")); } }

    private string Output { get { lock (_output) return string.Join(Environment.NewLine, _output); } }

    private void OnExit(object? sender, EventArgs e) => Dispose();

    private async Task Launch()
    {
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        foreach (var arg in (string[])["--port", $"{Port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--protected-mode", "no", "--dir", _directory])
            start.ArgumentList.Add(arg);

        Process p;
        try
        {
            p = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run redis-server ({e.Message}); install it (Debian: apt-get install redis-server) or pass --redis HOST:PORT", e);
        }
        p.OutputDataReceived += (_, line) => Keep(line.Data);
        p.ErrorDataReceived += (_, line) => Keep(line.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        lock (_gate)
        {
            if (_disposed) { Kill(p); throw new ObjectDisposedException(nameof(OwnRedis)); }
            _process = p;
        }

        // Ready when this very process answers on the port (on a port collision another server could answer).
        var clock = Stopwatch.StartNew();
        var expected = $"process_id:{p.Id}\r";
        while (true)
        {
            if (p.HasExited)
            {
                p.WaitForExit(); // drains the output
                throw new InvalidOperationException($"redis-server on {Endpoint} exited with code {p.ExitCode} while starting:{Environment.NewLine}{Output}");
            }
            try
            {
                if (await Send("INFO", "server") is { } info && Encoding.UTF8.GetString(info).Contains(expected)) return;
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidOperationException) { } // not listening yet
            if (clock.Elapsed > StartBound)
            {
                Kill();
                throw new TimeoutException($"redis-server on {Endpoint} did not answer within {StartBound.TotalSeconds:0} s:{Environment.NewLine}{Output}");
            }
            await Task.Delay(10);
        }
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.Enqueue(line);
            if (_output.Count > 20) _output.Dequeue();
        }
    }

    private void Kill()
    {
        Process? p;
        lock (_gate)
        {
            p = _process;
            _process = null;
        }
        if (p is not null) Kill(p);
    }

    private static void Kill(Process p)
    {
        try
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.WaitForExit(2000);
        }
        catch (InvalidOperationException) { } // already gone
        catch (System.ComponentModel.Win32Exception) { }
        finally { p.Dispose(); }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try { return ((IPEndPoint)listener.LocalEndpoint).Port; }
        finally { listener.Stop(); }
    }

    private static async Task<string> ReadLine(Stream stream, CancellationToken cancel)
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one, cancel) == 0) throw new EndOfStreamException("redis closed the connection");
            if (one[0] == '\n' && line.Count > 0 && line[^1] == '\r') return Encoding.UTF8.GetString(line.ToArray(), 0, line.Count - 1);
            line.Add(one[0]);
        }
    }
}
