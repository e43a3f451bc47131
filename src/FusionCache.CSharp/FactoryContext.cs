using LanguageExt;

namespace Fusion;

/// <summary>What a factory is given: the key, the stale value it may refresh, and its token.</summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class FactoryContext<T>
{
    internal FactoryContext(string key, Option<T> staleValue, CancellationToken cancellationToken)
    {
        Key = key;
        StaleValue = staleValue;
        CancellationToken = cancellationToken;
    }

    /// <summary>The key being computed.</summary>
    public string Key { get; }

    /// <summary>The value held for the key (stale or being refreshed), if any and of type <typeparamref name="T"/>.</summary>
    public Option<T> StaleValue { get; }

    /// <summary>
    /// Cancelled only when every caller waiting on this factory has given up and a timed-out factory may
    /// not complete in the background.
    /// </summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>
    /// Adaptive caching: options for the entry this run produces, laid over the caller's (only what they set):
    /// its duration, fail-safe, tags, skip flags… Read once the factory has returned; the caller's options object is
    /// never changed, and each caller's reply still follows its own options. Null (the default): the caller's.
    /// </summary>
    public FusionCacheEntryOptions? EntryOptions { get; set; }
}
