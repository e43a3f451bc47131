using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Fusion.Tests.Support;

/// <summary>An <see cref="ILogger"/> that keeps every message, so a test can wait for a background step to report.</summary>
internal sealed class RecordingLogger : ILogger
{
    private readonly ConcurrentQueue<string> _messages = new();
    private readonly ConcurrentQueue<Line> _lines = new();

    /// <summary>One logged line: its level, event, rendered message, structured fields and exception.</summary>
    public sealed record Line(LogLevel Level, EventId Event, string Message, IReadOnlyDictionary<string, object?> Fields, Exception? Exception)
    {
        /// <summary>Everything of the line as text: the message, every field's value and the exception.</summary>
        public string AllText => string.Join('\n', new[] { Message, Exception?.ToString() ?? "" }.Concat(Fields.Values.Select(v => v?.ToString() ?? "")));
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    /// <summary>Every level but None, as the framework's loggers answer.</summary>
    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var message = formatter(state, exception);
        var fields = state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? pairs.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.First().Value)
            : new Dictionary<string, object?>();
        _lines.Enqueue(new Line(logLevel, eventId, message, fields, exception));
        _messages.Enqueue(message);
    }

    /// <summary>Every line so far.</summary>
    public IReadOnlyList<Line> Lines => _lines.ToArray();

    /// <summary>The lines of one event id.</summary>
    public IReadOnlyList<Line> Of(int eventId) => _lines.Where(l => l.Event.Id == eventId).ToArray();

    /// <summary>True once a message containing <paramref name="text"/> was logged (false if none within the bound).</summary>
    public Task<bool> Logged(string text) => Eventually.Holds(() => _messages.Any(m => m.Contains(text, StringComparison.Ordinal)));

    /// <summary>True once a line of <paramref name="eventId"/> was logged (false if none within the bound).</summary>
    public Task<bool> Logged(int eventId) => Eventually.Holds(() => _lines.Any(l => l.Event.Id == eventId));
}
