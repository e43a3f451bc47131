using System.Collections.Concurrent;
using System.Diagnostics;
using Fusion.Tests.Redis.Support;
using Microsoft.Extensions.Logging;

namespace Fusion.Tests.Distributed.Support;

/// <summary>What one node logged, with the time since it was built: tests wait for lines, and failures show them all.</summary>
internal sealed class NodeLog : ILogger
{
    private readonly ConcurrentQueue<string> lines = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        lines.Enqueue($"{clock.ElapsedMilliseconds,6} ms {logLevel}: {formatter(state, exception)}");

    /// <summary>Adds a line of the test's own (not the cache's).</summary>
    public void Note(string line) => lines.Enqueue($"{clock.ElapsedMilliseconds,6} ms test: {line}");

    /// <summary>True once a line containing <paramref name="text"/> was logged; false if none within <see cref="Nodes.Bound"/>.</summary>
    public async Task<bool> Logged(string text)
    {
        try
        {
            await Poll.Until(() => Task.FromResult(Contains(text)), Nodes.Bound, text);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public bool Contains(string text) => lines.Any(line => line.Contains(text, StringComparison.Ordinal));

    public override string ToString() => lines.IsEmpty ? "(nothing logged)" : string.Join(Environment.NewLine, lines);
}
