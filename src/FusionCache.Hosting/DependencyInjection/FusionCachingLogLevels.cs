using Microsoft.Extensions.Logging;

namespace Fusion;

/// <summary>
/// <see cref="FusionCachingOptions.LogLevels"/>: the levels of the log events whose weight depends on the application,
/// bindable from configuration, for <see cref="FusionCacheBuilder.WithLogLevels"/>. Each level left null keeps
/// <see cref="FusionCacheLogLevels"/>' default; <see cref="LogLevel.None"/> silences the event. docs/observability.md
/// lists the events each one covers.
/// </summary>
/// <example><code>
/// "Fusion": { "Caches": { "default": { "LogLevels": { "FailSafeActivation": "Information", "FactoryError": "Error",
///                                                      "AggregationWindow": "00:00:30" } } } }
/// </code></example>
public sealed class FusionCachingLogLevels
{
    /// <summary>A factory failed (returned <c>Left</c>, threw, faulted).</summary>
    /// <value>Default (null): <see cref="LogLevel.Warning"/>.</value>
    public LogLevel? FactoryError { get; set; }

    /// <summary>A caller's wait for a factory ran past its soft or hard timeout, or an eager refresh past its deadline.</summary>
    /// <value>Default (null): <see cref="LogLevel.Warning"/>.</value>
    public LogLevel? FactoryTimeout { get; set; }

    /// <summary>Fail-safe served a stale value (or the fail-safe default) instead of an error.</summary>
    /// <value>Default (null): <see cref="LogLevel.Warning"/>.</value>
    public LogLevel? FailSafeActivation { get; set; }

    /// <summary>An L2 or backplane operation failed because Redis is away or slow.</summary>
    /// <value>Default (null): <see cref="LogLevel.Warning"/>.</value>
    public LogLevel? DistributedError { get; set; }

    /// <summary>Redis refused an operation on one key (a permission, a wrong type at the key, a script error).</summary>
    /// <value>Default (null): <see cref="LogLevel.Error"/>.</value>
    public LogLevel? DistributedRefusal { get; set; }

    /// <summary>How long one aggregated event stays at Debug after it was logged at its level; zero logs every one at its
    /// level. Zero or positive, and finite.</summary>
    /// <value>Default (null): 10 s.</value>
    public TimeSpan? AggregationWindow { get; set; }

    /// <summary>Whether anything is set (nothing: the builder keeps its defaults).</summary>
    internal bool IsSet =>
        FactoryError is not null || FactoryTimeout is not null || FailSafeActivation is not null
        || DistributedError is not null || DistributedRefusal is not null || AggregationWindow is not null;

    /// <summary>The runtime's levels: what is set here, the defaults for the rest.</summary>
    internal FusionCacheLogLevels ToLogLevels()
    {
        var d = FusionCacheLogLevels.Default;
        return new FusionCacheLogLevels
        {
            FactoryError = FactoryError ?? d.FactoryError,
            FactoryTimeout = FactoryTimeout ?? d.FactoryTimeout,
            FailSafeActivation = FailSafeActivation ?? d.FailSafeActivation,
            DistributedError = DistributedError ?? d.DistributedError,
            DistributedRefusal = DistributedRefusal ?? d.DistributedRefusal,
            AggregationWindow = AggregationWindow ?? d.AggregationWindow,
        };
    }
}
