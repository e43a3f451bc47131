namespace Fusion;

/// <summary>
/// Where Fusion reports traces and metrics: a <see cref="System.Diagnostics.ActivitySource"/> and a
/// <see cref="System.Diagnostics.Metrics.Meter"/>, both named <c>"Fusion.Caching"</c>, shared by every cache of the
/// process; each span and measurement carries the cache's name (<see cref="FusionCache.Name"/>) as
/// <see cref="CacheNameTag"/>. With OpenTelemetry: <c>.WithTracing(t =&gt; t.AddSource(FusionCacheTelemetry.ActivitySourceName))</c>
/// and <c>.WithMetrics(m =&gt; m.AddMeter(FusionCacheTelemetry.MeterName))</c>. While nothing listens, a hit pays a few
/// field reads and nothing else; docs/observability.md lists every span, instrument and log event.
/// </summary>
public static class FusionCacheTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> of every Fusion cache.</summary>
    public const string ActivitySourceName = "Fusion.Caching";

    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> of every Fusion cache.</summary>
    public const string MeterName = "Fusion.Caching";

    /// <summary>The tag that names the cache on every span and measurement.</summary>
    public const string CacheNameTag = "fusion.cache.name";
}
