using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Fusion.Tests.Support;

/// <summary>An <see cref="ILogger"/> that keeps every message, so a test can wait for a background step to report.</summary>
internal sealed class RecordingLogger : ILogger
{
    private readonly ConcurrentQueue<string> _messages = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _messages.Enqueue(formatter(state, exception));

    /// <summary>True once a message containing <paramref name="text"/> was logged (false if none within the bound).</summary>
    public Task<bool> Logged(string text) => Eventually.Holds(() => _messages.Any(m => m.Contains(text, StringComparison.Ordinal)));
}
