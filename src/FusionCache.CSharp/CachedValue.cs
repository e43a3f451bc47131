namespace Fusion;

/// <summary>A value with what the cache knows about it (<see cref="FusionCache.GetOrSetEntry{T}(string, Func{FactoryContext, Task{LanguageExt.Either{Err, T}}}, FusionCacheEntryOptions?, CancellationToken)"/>):
/// whether it is stale (served by fail-safe), where it came from, and when it was produced.</summary>
/// <typeparam name="T">The value type.</typeparam>
public readonly struct CachedValue<T>
{
    internal CachedValue(T value, bool isStale, ValueSource source, long timestamp)
    {
        Value = value;
        IsStale = isStale;
        Source = source;
        Timestamp = new DateTimeOffset(timestamp, TimeSpan.Zero);
    }

    /// <summary>The value.</summary>
    public T Value { get; }

    /// <summary>Whether fail-safe served it: the source failed or was too slow, and this is the last good value (or the
    /// caller's default).</summary>
    public bool IsStale { get; }

    /// <summary>Where it came from: this node's memory, Redis, the factory, or fail-safe (the last good value, or the
    /// default value this call gave).</summary>
    public ValueSource Source { get; }

    /// <summary>When the value was produced (UTC): the instant its factory run began, or its <c>Set</c>; for a default value
    /// served by fail-safe, the instant of the flight that served it.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Value} ({Source}{(IsStale ? ", stale" : "")}, {Timestamp:O})";
}
