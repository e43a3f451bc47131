using System.Net;
using System.Net.Sockets;

namespace Fusion.Tests.Redis.Support;

/// <summary>
/// Finds a TCP port on 127.0.0.1 that nothing listens on right now. The port is released before it is returned,
/// so another process can take it first: callers retry with a fresh port when a server reports it taken.
/// </summary>
internal static class LoopbackPort
{
    /// <summary>Redis Cluster listens on its port plus this for the cluster bus.</summary>
    public const int BusOffset = 10000;

    private const int Attempts = 200;

    /// <summary>
    /// A free loopback port; with <paramref name="needsBusPort"/> one whose cluster-bus port (port + 10000) is free
    /// and still a valid port.
    /// </summary>
    public static int Find(bool needsBusPort = false)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var port = Take(0);
            if (port is not { } p) continue;
            if (!needsBusPort) return p;
            if (p + BusOffset <= IPEndPoint.MaxPort && Take(p + BusOffset) is not null) return p;
        }
        throw new InvalidOperationException($"no free loopback port found in {Attempts} attempts");
    }

    /// <summary>Binds <paramref name="port"/> (0: any) on 127.0.0.1 and releases it; null when it is taken.</summary>
    private static int? Take(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        catch (SocketException)
        {
            return null;
        }
        finally
        {
            listener.Stop();
        }
    }
}
