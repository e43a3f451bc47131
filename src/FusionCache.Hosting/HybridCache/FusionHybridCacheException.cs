namespace Fusion;

/// <summary>
/// What <see cref="FusionHybridCache"/> throws when Fusion answers a call with an error that is neither an exception
/// thrown by the caller's factory (that one is rethrown as it is), a timeout (<see cref="TimeoutException"/>) nor a
/// cancellation (<see cref="OperationCanceledException"/>): a value of another type under the key, an unreadable L2
/// payload, a factory failure without an exception (only a stale value being served, say). The message names the key.
/// </summary>
public sealed class FusionHybridCacheException : Exception
{
    internal FusionHybridCacheException(string key, Err error)
        : base($"HybridCache key '{key}': {error.Message}", InnerOf(error))
    {
        Key = key;
        Error = error;
    }

    /// <summary>The key of the call that failed.</summary>
    public string Key { get; }

    /// <summary>Fusion's error, to match on (<c>Error is Err.WrongType w</c>).</summary>
    public Err Error { get; }

    private static Exception? InnerOf(Err error) => error switch
    {
        Err.FactoryFailed f => f.Exception,
        Err.DistributedFailed d => d.Exception,
        _ => null,
    };
}
