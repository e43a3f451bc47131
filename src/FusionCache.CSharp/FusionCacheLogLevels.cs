using Microsoft.Extensions.Logging;

namespace Fusion;

/// <summary>
/// The levels of the log events whose weight depends on the application (<see cref="FusionCacheBuilder.WithLogLevels"/>):
/// a factory failure may be routine for one source and an incident for another. <see cref="LogLevel.None"/> silences an
/// event. Set only what differs: <c>new FusionCacheLogLevels { FactoryError = LogLevel.Error }</c>.
/// <para>Each of these events is aggregated per cache: the first one in an <see cref="AggregationWindow"/> is logged at
/// its level and says how many like it were logged at <see cref="LogLevel.Debug"/> since the previous one; the others
/// in the window go to Debug. An outage of the source logs a few lines, not one per key and caller.</para>
/// docs/observability.md lists every event with its id.
/// </summary>
public sealed class FusionCacheLogLevels
{
    /// <summary>A factory failed (returned <c>Left</c>, threw, faulted): the key and the error, never a value.</summary>
    /// <value>Default <see cref="LogLevel.Warning"/>.</value>
    public LogLevel FactoryError { get; init; } = LogLevel.Warning;

    /// <summary>A caller's wait for a factory ran past its soft or hard timeout, or an eager refresh past its deadline.</summary>
    /// <value>Default <see cref="LogLevel.Warning"/>.</value>
    public LogLevel FactoryTimeout { get; init; } = LogLevel.Warning;

    /// <summary>Fail-safe served a stale value (or the fail-safe default) instead of an error: the key, the value's
    /// age and the activation cycle.</summary>
    /// <value>Default <see cref="LogLevel.Warning"/>.</value>
    public LogLevel FailSafeActivation { get; init; } = LogLevel.Warning;

    /// <summary>An L2 or backplane operation failed because Redis is away or slow (the call goes on from L1; what was
    /// not written is queued and replayed).</summary>
    /// <value>Default <see cref="LogLevel.Warning"/>.</value>
    public LogLevel DistributedError { get; init; } = LogLevel.Warning;

    /// <summary>Redis refused an operation on one key (a permission, a wrong type at the key, a script error): a
    /// configuration for the operator to fix; replaying it would fail again.</summary>
    /// <value>Default <see cref="LogLevel.Error"/>.</value>
    public LogLevel DistributedRefusal { get; init; } = LogLevel.Error;

    /// <summary>How long one aggregated event stays at Debug after it was logged at its level; zero logs every one at
    /// its level.</summary>
    /// <value>Default 10 s.</value>
    public TimeSpan AggregationWindow { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The defaults.</summary>
    public static FusionCacheLogLevels Default { get; } = new();

    /// <summary>The first invalid value, described, or null.</summary>
    internal string? Invalid() =>
        Level(nameof(FactoryError), FactoryError) ?? Level(nameof(FactoryTimeout), FactoryTimeout)
        ?? Level(nameof(FailSafeActivation), FailSafeActivation) ?? Level(nameof(DistributedError), DistributedError)
        ?? Level(nameof(DistributedRefusal), DistributedRefusal)
        ?? (AggregationWindow < TimeSpan.Zero || AggregationWindow == Timeout.InfiniteTimeSpan
            ? $"{nameof(AggregationWindow)} = {AggregationWindow} is invalid: it must be zero or positive, and finite"
            : null);

    private static string? Level(string name, LogLevel level) =>
        Enum.IsDefined(level) ? null : $"{name} = {(int)level} is invalid: it must be a LogLevel (Trace to None)";
}
