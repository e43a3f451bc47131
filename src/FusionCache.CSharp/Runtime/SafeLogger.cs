using Microsoft.Extensions.Logging;

namespace Fusion.Runtime;

/// <summary>
/// The user's logger, made safe for background work: a log provider that throws must not end a flight,
/// fault a task nobody observes (an <c>UnobservedTaskException</c>), or stop a loop. Every part of the
/// runtime logs through this wrapper, so no call site needs its own guard.
/// </summary>
internal sealed class SafeLogger(ILogger inner) : ILogger
{
    public static ILogger Wrap(ILogger logger) => logger as SafeLogger ?? new SafeLogger(logger);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull
    {
        try { return inner.BeginScope(state); }
        catch (Exception) { return null; }
    }

    public bool IsEnabled(LogLevel logLevel)
    {
        try { return inner.IsEnabled(logLevel); }
        catch (Exception) { return false; }
    }

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try { inner.Log(logLevel, eventId, state, exception, formatter); }
        catch (Exception) { } // nowhere left to report it
    }
}
