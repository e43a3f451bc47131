using System.Net;
using System.Net.Sockets;

namespace Fusion.Tests.Distributed.Support;

/// <summary>
/// A loopback TCP forwarder in front of a Redis port, so that one node can be cut off from Redis while the others keep
/// it: <see cref="Cut"/> closes every forwarded connection and refuses new ones until <see cref="Resume"/>, which listens
/// again on the same port.
/// </summary>
internal sealed class CuttableProxy : IDisposable
{
    private readonly int target;
    private readonly object gate = new();
    private readonly List<Socket> open = [];
    private TcpListener? listener;

    public CuttableProxy(int target)
    {
        this.target = target;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Resume();
    }

    /// <summary>The port clients connect to.</summary>
    public int Port { get; }

    /// <summary>A connection string through the proxy (same timeouts as the fixtures').</summary>
    public string ConnectionString => Redis.Support.RedisClientOptions.ConnectionString([$"127.0.0.1:{Port}"]);

    /// <summary>Closes every forwarded connection and refuses new ones.</summary>
    public void Cut()
    {
        lock (gate)
        {
            listener?.Stop();
            listener = null;
            foreach (var socket in open) socket.Dispose();
            open.Clear();
        }
    }

    /// <summary>Holds every client chunk that carries a SUBSCRIBE command this long before passing it on (zero: none):
    /// a client whose connection is back but whose subscription is not yet, for as long as the test needs.</summary>
    public TimeSpan SubscribeDelay { get; set; }

    /// <summary>Accepts and forwards connections again, on the same port.</summary>
    public void Resume()
    {
        lock (gate)
        {
            if (listener is not null) return;
            var next = new TcpListener(IPAddress.Loopback, Port);
            next.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            next.Start();
            listener = next;
            _ = Accept(next);
        }
    }

    private async Task Accept(TcpListener from)
    {
        try
        {
            while (true)
            {
                var client = await from.AcceptSocketAsync();
                await Forward(from, client);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Cut: the listener was stopped.
        }
    }

    private async Task Forward(TcpListener from, Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, target);
        }
        catch (SocketException)
        {
            client.Dispose();
            server.Dispose();
            return;
        }
        lock (gate)
        {
            if (!ReferenceEquals(listener, from))
            {
                client.Dispose(); // cut meanwhile
                server.Dispose();
                return;
            }
            open.Add(client);
            open.Add(server);
        }
        _ = Pump(client, server, fromClient: true);
        _ = Pump(server, client, fromClient: false);
    }

    private async Task Pump(Socket from, Socket to, bool fromClient)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer);
                if (read == 0) break;
                if (fromClient && SubscribeDelay > TimeSpan.Zero
                    && System.Text.Encoding.ASCII.GetString(buffer, 0, read).Contains("SUBSCRIBE", StringComparison.OrdinalIgnoreCase))
                    await Task.Delay(SubscribeDelay);
                await to.SendAsync(buffer.AsMemory(0, read));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        from.Dispose();
        to.Dispose();
    }

    public void Dispose() => Cut();
}
