using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Fusion.Runtime;

/// <summary>
/// The process-wide <see cref="ActivitySource"/> and <see cref="Meter"/> (<see cref="FusionCacheTelemetry"/>), the
/// runtime's instruments, and the names of spans and tags (docs/observability.md). No OpenTelemetry package: the
/// SDK, or any <see cref="MeterListener"/> / <see cref="ActivityListener"/>, subscribes by name. The Redis package adds
/// its instruments to the same meter (<c>DistributedTelemetry</c>).
/// <para>Cost while nothing listens: an instrument's <c>Enabled</c> is two field reads, and
/// <see cref="ActivitySource.HasListeners"/> one; nothing else runs and nothing is allocated. Every call site checks
/// first, so a hit never builds a tag or enters the instrument.</para>
/// </summary>
internal static class Telemetry
{
    private static readonly string? Version = typeof(Telemetry).Assembly.GetName().Version?.ToString(3);

    public static readonly ActivitySource Source = new(FusionCacheTelemetry.ActivitySourceName, Version);
    public static readonly Meter Meter = new(FusionCacheTelemetry.MeterName, Version);

    public static readonly Counter<long> Hits = Meter.CreateCounter<long>("fusion.cache.hits", "{call}",
        "GetOrSet and TryGet calls answered from L1 (memory) without waiting for a flight");
    public static readonly Counter<long> Misses = Meter.CreateCounter<long>("fusion.cache.misses", "{call}",
        "GetOrSet calls that joined or started a flight (L2 read, factory), and TryGet calls L1 could not answer");
    public static readonly Counter<long> StaleHits = Meter.CreateCounter<long>("fusion.cache.stale_hits", "{call}",
        "Calls answered with a value served by fail-safe (stale), from L1 or from a flight");
    public static readonly Counter<long> FactoryRuns = Meter.CreateCounter<long>("fusion.cache.factory.runs", "{run}",
        "Factory invocations (one per flight: misses and eager refreshes)");
    public static readonly Counter<long> FactoryErrors = Meter.CreateCounter<long>("fusion.cache.factory.errors", "{run}",
        "Factory runs that failed: Left, a throw, a faulted or null task");
    public static readonly Counter<long> FactoryTimeouts = Meter.CreateCounter<long>("fusion.cache.factory.timeouts", "{timeout}",
        "Waits for a factory cut by a caller's soft or hard timeout, and eager refreshes past their deadline");
    public static readonly Histogram<double> FactoryDuration = Meter.CreateHistogram<double>("fusion.cache.factory.duration", "s",
        "How long factory runs took, until their outcome (a run past every caller's timeout included)");
    public static readonly Counter<long> FailSafeActivations = Meter.CreateCounter<long>("fusion.cache.fail_safe.activations", "{activation}",
        "Fail-safe activations: a stale value (or the fail-safe default) re-stored and served after a factory error or timeout");

    // Span names.
    public const string GetOrSetSpan = "fusion.get_or_set";
    public const string RefreshSpan = "fusion.refresh";
    public const string FactorySpan = "fusion.factory";
    public const string SetSpan = "fusion.set";
    public const string RemoveSpan = "fusion.remove";
    public const string ExpireSpan = "fusion.expire";
    public const string RemoveByTagSpan = "fusion.remove_by_tag";
    public const string ClearSpan = "fusion.clear";

    // Tags.
    public const string NameTag = FusionCacheTelemetry.CacheNameTag;
    public const string KeyTag = "fusion.cache.key";
    public const string TagTag = "fusion.cache.tag";
    public const string ReplyTag = "fusion.cache.reply";
    public const string FlightTag = "fusion.cache.flight";
    public const string OutcomeTag = "fusion.cache.factory.outcome";
    public const string TimeoutTag = "fusion.cache.timeout";
    public const string ErrorTypeTag = "error.type";

    /// <summary>Starts a span of this cache as the current activity; null while nothing listens (or nothing samples it).</summary>
    public static Activity? Start(string name, string cacheName, string? key)
    {
        var span = Source.StartActivity(name, ActivityKind.Internal);
        if (span is null) return null;
        span.SetTag(NameTag, cacheName);
        if (key is not null) span.SetTag(KeyTag, key);
        return span;
    }

    /// <summary>Marks the span failed, with a low-cardinality error type and a one-line description.</summary>
    public static void Fail(Activity span, string errorType, string description)
    {
        span.SetTag(ErrorTypeTag, errorType);
        span.SetStatus(ActivityStatusCode.Error, LogText.Of(description));
    }

    /// <summary>The error type of an <see cref="Err"/>: its case.</summary>
    public static string TypeOf(Err error) => error switch
    {
        Err.FactoryFailed => nameof(Err.FactoryFailed),
        Err.FactoryTimedOut => nameof(Err.FactoryTimedOut),
        Err.DistributedFailed => nameof(Err.DistributedFailed),
        Err.PayloadUnreadable => nameof(Err.PayloadUnreadable),
        Err.WrongType => nameof(Err.WrongType),
        Err.Cancelled => nameof(Err.Cancelled),
        _ => error.GetType().Name,
    };

    /// <summary>Stops <paramref name="span"/> when <paramref name="work"/> completes (now, if it has).</summary>
    public static ValueTask EndWith(ValueTask work, Activity span)
    {
        if (!work.IsCompleted) return EndLater(work, span);
        if (work.IsFaulted) span.SetStatus(ActivityStatusCode.Error);
        span.Stop();
        return work;
    }

    private static async ValueTask EndLater(ValueTask work, Activity span)
    {
        try
        {
            await work.ConfigureAwait(false);
        }
        catch (Exception)
        {
            span.SetStatus(ActivityStatusCode.Error);
            throw;
        }
        finally
        {
            span.Stop();
        }
    }
}
