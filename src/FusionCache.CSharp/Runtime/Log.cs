using Microsoft.Extensions.Logging;

namespace Fusion.Runtime;

/// <summary>
/// Every log event of the runtime (package Fusion.Caching), source-generated: no boxing or formatting unless the level is
/// enabled. Event ids are stable, so a filter or an alert can match them:
/// <list type="bullet">
/// <item>1000–1999: Fusion.Caching (this class): flights, factories, fail-safe.</item>
/// <item>2000–2999: Fusion.Caching.Redis (<c>Fusion.Distributed.Log</c>): 2000s the connection, 2100s L2 operations,
/// 2200s the recovery queue, 2300s the backplane.</item>
/// <item>3000–3999: kept for Fusion.Caching.Hosting.</item>
/// </list>
/// Keys and outside text reach these methods through <see cref="LogText.Of"/> (control characters escaped, long text
/// cut); values never do. Events without a fixed level take it from <see cref="FusionCacheLogLevels"/>.
/// docs/observability.md has the table.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, EventName = "FlightFailed", Level = LogLevel.Error,
        Message = "Fusion: the flight for key {Key} failed unexpectedly")]
    public static partial void FlightFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(EventId = 1002, EventName = "FlightSuperseded", Level = LogLevel.Debug,
        Message = "Fusion: a flight for key {Key} was superseded by a write; its result answers only its own callers")]
    public static partial void FlightSuperseded(ILogger logger, string key);

    [LoggerMessage(EventId = 1003, EventName = "ResultDropped", Level = LogLevel.Debug,
        Message = "Fusion: a result for key {Key} was older than the cached value and was dropped")]
    public static partial void ResultDropped(ILogger logger, string key);

    [LoggerMessage(EventId = 1010, EventName = "FactoryFailed",
        Message = "Fusion: the factory for key {Key} failed: {Error} ({Aggregated} more since the previous one, logged at Debug)")]
    public static partial void FactoryFailed(ILogger logger, LogLevel level, string key, string error, long aggregated, Exception? exception);

    [LoggerMessage(EventId = 1011, EventName = "FactoryTimedOut",
        Message = "Fusion: the factory for key {Key} ran past the {Kind} timeout of {Timeout}; {Consequence} ({Aggregated} more since the previous one, logged at Debug)")]
    public static partial void FactoryTimedOut(ILogger logger, LogLevel level, string key, string kind, TimeSpan timeout, string consequence, long aggregated);

    [LoggerMessage(EventId = 1012, EventName = "FailSafeActivated",
        Message = "Fusion: fail-safe for key {Key}: serving a value written {Age} ago, stale for {StaleFor}, activation {Cycle} without a factory success, after: {Cause} ({Aggregated} more since the previous one, logged at Debug)")]
    public static partial void FailSafeActivated(ILogger logger, LogLevel level, string key, TimeSpan age, TimeSpan staleFor, int cycle, string cause, long aggregated);

    [LoggerMessage(EventId = 1013, EventName = "FailSafeDefaultServed",
        Message = "Fusion: fail-safe for key {Key}: nothing cached, serving the fail-safe default value, after: {Cause} ({Aggregated} more since the previous one, logged at Debug)")]
    public static partial void FailSafeDefaultServed(ILogger logger, LogLevel level, string key, string cause, long aggregated);
}
