using Microsoft.Extensions.Logging;

namespace Fusion.Distributed;

/// <summary>
/// Every log event of the Redis package (Fusion.Caching.Redis), source-generated, ids 2000–2999 (the runtime's are
/// 1000–1999: <c>Fusion.Runtime.Log</c>): 2000s the connection, 2100s L2 operations, 2200s the recovery queue, 2300s
/// the backplane. Keys, tags and Redis's messages reach them through <c>LogText.Of</c> or <c>DistributedLevel.Short</c>;
/// values, the configuration and its password never do. Events without a fixed level take it from
/// <see cref="FusionCacheLogLevels"/>. docs/observability.md has the table.
/// </summary>
internal static partial class Log
{
    // The connection.

    [LoggerMessage(EventId = 2001, EventName = "ConnectionSetupFailed", Level = LogLevel.Error,
        Message = "Fusion: could not set up the Redis connection; the cache works on L1 only: {Error}")]
    public static partial void ConnectionSetupFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 2002, EventName = "NotConnectedYet", Level = LogLevel.Warning,
        Message = "Fusion: could not connect to Redis yet; the cache works on L1 and retries: {Error}")]
    public static partial void NotConnectedYet(ILogger logger, string error);

    [LoggerMessage(EventId = 2003, EventName = "ConnectionLost", Level = LogLevel.Warning,
        Message = "Fusion: lost the connection to Redis ({Failure}); serving from L1 until it is back: {Error}")]
    public static partial void ConnectionLost(ILogger logger, string failure, string error);

    [LoggerMessage(EventId = 2004, EventName = "ConnectAttemptFailed", Level = LogLevel.Warning,
        Message = "Fusion: could not connect to Redis ({Failure}); the cache works on L1 and retries ({Skipped} more failed attempts not logged): {Error}")]
    public static partial void ConnectAttemptFailed(ILogger logger, string failure, long skipped, string error);

    [LoggerMessage(EventId = 2005, EventName = "Reconnected", Level = LogLevel.Information,
        Message = "Fusion: connected to Redis; {Checked} copies checked against L2 ({Changed} changed while away); replaying {Count} queued operations")]
    public static partial void Reconnected(ILogger logger, int @checked, int changed, int count);

    [LoggerMessage(EventId = 2006, EventName = "ProbeNotEchoed", Level = LogLevel.Warning,
        Message = "Fusion: the backplane did not echo a probe within {Timeout}; revalidating L1 anyway")]
    public static partial void ProbeNotEchoed(ILogger logger, TimeSpan timeout);

    [LoggerMessage(EventId = 2007, EventName = "ReconnectWorkFailed", Level = LogLevel.Error,
        Message = "Fusion: the reconnect work failed unexpectedly")]
    public static partial void ReconnectWorkFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2008, EventName = "RevalidationFailed", Level = LogLevel.Warning,
        Message = "Fusion: checking L1 against L2 after the reconnect failed; the copies not checked yet are expired instead: {Error}")]
    public static partial void RevalidationFailed(ILogger logger, string error);

    // L2 operations.

    [LoggerMessage(EventId = 2101, EventName = "OperationFailed",
        Message = "Fusion: Redis {What} for key {Key} failed: {Error} ({Aggregated} more since the previous one, logged at Debug)")]
    public static partial void OperationFailed(ILogger logger, LogLevel level, string what, string key, string error, long aggregated);

    [LoggerMessage(EventId = 2102, EventName = "OperationRefused",
        Message = "Fusion: Redis refused the {What} for key {Key}: {Error} ({Aggregated} more since the previous one, logged at Debug)")]
    public static partial void OperationRefused(ILogger logger, LogLevel level, string what, string key, string error, long aggregated);

    [LoggerMessage(EventId = 2103, EventName = "PayloadUnreadable", Level = LogLevel.Warning,
        Message = "Fusion: the L2 payload for key {Key} is unreadable ({Reason}); treated as a miss, replaced by the next write ({Skipped} more not logged since the last warning)")]
    public static partial void PayloadUnreadable(ILogger logger, string key, string reason, long skipped);

    [LoggerMessage(EventId = 2104, EventName = "ValueUnserializable", Level = LogLevel.Error,
        Message = "Fusion: the value for key {Key} could not be serialized; it stays in this node's memory only (not written to L2, not announced): {Error}")]
    public static partial void ValueUnserializable(ILogger logger, string key, string error);

    [LoggerMessage(EventId = 2105, EventName = "WriteSuperseded", Level = LogLevel.Debug,
        Message = "Fusion: L2 refused the {What} of key {Key} stamped {Ours} by this node: it holds a later write stamped {Theirs} (origin {Origin})")]
    public static partial void WriteSuperseded(ILogger logger, string what, string key, long ours, long theirs, long origin);

    [LoggerMessage(EventId = 2106, EventName = "MarksNotReadYet", Level = LogLevel.Debug,
        Message = "Fusion: could not read invalidation marks from L2 yet: {Error}")]
    public static partial void MarksNotReadYet(ILogger logger, string error);

    [LoggerMessage(EventId = 2107, EventName = "MarksRefused", Level = LogLevel.Warning,
        Message = "Fusion: Redis refused reading invalidation marks (RemoveByTag, Clear): {Error}")]
    public static partial void MarksRefused(ILogger logger, string error);

    // The recovery queue.

    [LoggerMessage(EventId = 2201, EventName = "QueuedOperationsDropped", Level = LogLevel.Warning,
        Message = "Fusion: {Why}; dropped the queued L2 operations of {Count} key(s), among them {Keys}")]
    public static partial void QueuedOperationsDropped(ILogger logger, string why, int count, string keys);

    [LoggerMessage(EventId = 2202, EventName = "ReplayPaused", Level = LogLevel.Debug,
        Message = "Fusion: recovery replay paused, Redis is still unavailable: {Error}")]
    public static partial void ReplayPaused(ILogger logger, string error);

    [LoggerMessage(EventId = 2203, EventName = "KeyParked",
        Message = "Fusion: Redis refused the queued operations of key {Key} (attempt {Attempt} of {Max}); the key is parked until {RetryAt:O}, other keys go on: {Error}")]
    public static partial void KeyParked(ILogger logger, LogLevel level, string key, int attempt, int max, DateTime retryAt, string error);

    [LoggerMessage(EventId = 2204, EventName = "KeyDropped",
        Message = "Fusion: Redis refused the queued operations of key {Key} {Max} times; they are dropped: {Error}")]
    public static partial void KeyDropped(ILogger logger, LogLevel level, string key, int max, string error);

    [LoggerMessage(EventId = 2205, EventName = "InvalidationDropped",
        Message = "Fusion: Redis refused the invalidation of tag {Tag}; it is dropped: {Error}")]
    public static partial void InvalidationDropped(ILogger logger, LogLevel level, string tag, string error);

    [LoggerMessage(EventId = 2206, EventName = "RecoveryLoopFailed", Level = LogLevel.Error,
        Message = "Fusion: the recovery loop failed unexpectedly; it goes on")]
    public static partial void RecoveryLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2207, EventName = "DrainFailed", Level = LogLevel.Debug,
        Message = "Fusion: draining the recovery queue on dispose failed: {Error}")]
    public static partial void DrainFailed(ILogger logger, string error);

    // The backplane.

    [LoggerMessage(EventId = 2301, EventName = "SubscriptionFailed", Level = LogLevel.Warning,
        Message = "Fusion: backplane subscription to Redis failed, will retry: {Error}")]
    public static partial void SubscriptionFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 2302, EventName = "MalformedMessage", Level = LogLevel.Warning,
        Message = "Fusion: ignored a malformed backplane message: {Error} ({Skipped} more ignored since the last warning)")]
    public static partial void MalformedMessage(ILogger logger, string error, long skipped);

    [LoggerMessage(EventId = 2303, EventName = "MessageNotApplied", Level = LogLevel.Error,
        Message = "Fusion: a backplane message could not be applied")]
    public static partial void MessageNotApplied(ILogger logger, Exception exception);
}
