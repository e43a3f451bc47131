using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fusion.Tests.Redis.Support;

/// <summary>
/// Sends one command to a Redis node over a fresh loopback connection and reads one reply. The fixtures use it to
/// check readiness and to administer servers without going through the client under test.
/// </summary>
internal static class RespProbe
{
    /// <summary>How long one probe may take, connection included.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The reply to <paramref name="args"/>: a simple or bulk string, an integer as text, or null for a null bulk
    /// string. An error reply throws <see cref="InvalidOperationException"/>; a closed connection throws
    /// <see cref="EndOfStreamException"/>.
    /// </summary>
    public static async Task<string?> SendAsync(int port, params string[] args)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        var stream = new BufferedStream(client.GetStream());

        await stream.WriteAsync(Encode(args), timeout.Token);
        await stream.FlushAsync(timeout.Token);

        var header = await ReadLineAsync(stream, timeout.Token);
        var body = header[1..];
        switch (header[0])
        {
            case '+' or ':':
                return body;
            case '-':
                throw new InvalidOperationException($"redis 127.0.0.1:{port} replied to {args[0]}: {body}");
            case '$':
                var length = int.Parse(body);
                if (length < 0) return null;
                var bytes = new byte[length + 2];
                await stream.ReadExactlyAsync(bytes, timeout.Token);
                return Encoding.UTF8.GetString(bytes, 0, length);
            default:
                throw new NotSupportedException($"reply type '{header[0]}' from redis 127.0.0.1:{port}");
        }
    }

    private static byte[] Encode(string[] args)
    {
        var command = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var arg in args)
            command.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        return Encoding.UTF8.GetBytes(command.ToString());
    }

    private static async Task<string> ReadLineAsync(Stream stream, CancellationToken cancel)
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
