using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Fusion.Runtime;

namespace Fusion.Distributed;

/// <summary>
/// The Redis package's instruments and spans, on the runtime's meter and activity source ("Fusion.Caching"), tagged with
/// the cache's name like the runtime's (docs/observability.md). The two observable instruments read every live
/// distributed level when a listener collects: levels register when built and leave when disposed (or collected).
/// </summary>
internal static class DistributedTelemetry
{
    public static readonly Counter<long> Reads = Telemetry.Meter.CreateCounter<long>("fusion.cache.l2.reads", "{read}",
        "L2 reads sent to Redis, by result: hit, miss, error, unreadable");
    public static readonly Counter<long> Writes = Telemetry.Meter.CreateCounter<long>("fusion.cache.l2.writes", "{write}",
        "L2 changes Redis applied or refused as older (set, remove, expire, invalidate), replays included");
    public static readonly Counter<long> Errors = Telemetry.Meter.CreateCounter<long>("fusion.cache.l2.errors", "{error}",
        "Failed Redis operations (read, write, notification, invalidation, replay), by operation and error type");
    public static readonly Counter<long> Sent = Telemetry.Meter.CreateCounter<long>("fusion.cache.backplane.sent", "{message}",
        "Backplane notifications published to the other nodes, by kind");
    public static readonly Counter<long> Received = Telemetry.Meter.CreateCounter<long>("fusion.cache.backplane.received", "{message}",
        "Backplane notifications from other nodes applied here, by kind");

    private static readonly ConditionalWeakTable<DistributedLevel, string> Live = new();

    public static readonly ObservableUpDownCounter<int> QueueLength = Telemetry.Meter.CreateObservableUpDownCounter(
        "fusion.cache.recovery.queue_length", ObserveQueues, "{key}",
        "Keys with L2 operations (or invalidations) owed to Redis: queued for replay, or being replayed");
    public static readonly ObservableGauge<int> BreakerState = Telemetry.Meter.CreateObservableGauge(
        "fusion.cache.circuit_breaker.state", ObserveBreakers, "{state}",
        "1 while the circuit breaker is open (L2 skipped after a connection-level error), 0 while it is closed");

    // Span names and tags.
    public const string ReadSpan = "fusion.l2.read";
    public const string WriteSpan = "fusion.l2.write";
    public const string PublishSpan = "fusion.backplane.publish";
    public const string ReplaySpan = "fusion.l2.replay";
    public const string OperationTag = "fusion.cache.l2.operation";
    public const string ResultTag = "fusion.cache.l2.result";
    public const string MessageTag = "fusion.cache.backplane.message";

    public static void Register(DistributedLevel level, string cacheName) => Live.AddOrUpdate(level, cacheName);

    public static void Unregister(DistributedLevel level) => Live.Remove(level);

    private static IEnumerable<Measurement<int>> ObserveQueues()
    {
        foreach (var (level, name) in (IEnumerable<KeyValuePair<DistributedLevel, string>>)Live)
            yield return new(level.PendingRecoveries, new KeyValuePair<string, object?>(Telemetry.NameTag, name));
    }

    private static IEnumerable<Measurement<int>> ObserveBreakers()
    {
        foreach (var (level, name) in (IEnumerable<KeyValuePair<DistributedLevel, string>>)Live)
            yield return new(level.BreakerOpen ? 1 : 0, new KeyValuePair<string, object?>(Telemetry.NameTag, name));
    }

    /// <summary>The kind of a notification, as a tag value.</summary>
    public static string KindOf(Fusion.Core.Remote notice) => notice switch
    {
        Fusion.Core.Remote.Set => "set",
        Fusion.Core.Remote.Remove => "remove",
        _ => "expire",
    };

    /// <summary>The low-cardinality type of an error: the exception's class.</summary>
    public static string TypeOf(Exception ex) => ex.GetType().FullName ?? ex.GetType().Name;

    /// <summary>Starts an L2 span (current in the caller's async method); null while nothing listens.</summary>
    public static Activity? Start(string span, string cacheName, string? key) =>
        Telemetry.Source.HasListeners() ? Telemetry.Start(span, cacheName, key) : null;
}
