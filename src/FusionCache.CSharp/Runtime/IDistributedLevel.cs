using Fusion.Core;
using Microsoft.FSharp.Core;

namespace Fusion.Runtime;

/// <summary>
/// What the runtime asks of a distributed level (L2 and the backplane): reads that never fail (an error is a miss),
/// writes and invalidations that never fail (what cannot be done is the level's to recover). The runtime knows no
/// more of it, so a memory-only cache carries no Redis client; the Redis package implements it.
/// </summary>
internal interface IDistributedLevel : IDisposable
{
    /// <summary>The key's L2 entry as a <typeparamref name="T"/>, seen through this node's invalidations; <c>ValueNone</c>
    /// for a miss, an error, a timeout or an unreadable value.</summary>
    Task<FSharpValueOption<Entry>> Read<T>(string key, TimeSpan softTimeout, TimeSpan hardTimeout);

    /// <summary>Applies the core's L2 change and sends its notification, waiting for each only as the options say.</summary>
    Task Write<T>(string key, L2Change change, FSharpValueOption<Remote> notify, EntryOptions options);

    /// <summary>An invalidation (a tag's; <c>Clear</c> when <paramref name="tag"/> is null) for L2 and the other nodes.</summary>
    Task Invalidate(string? tag, Invalidation mark, EntryOptions options);
}

/// <summary>What a distributed level is built from: the node's levels, clock, id, logger (safe) and diagnostics (the
/// cache's name for telemetry, its log levels).</summary>
internal sealed record DistributedContext(MemoryLevel Memory, FlightTable Flights, Clock Clock, Guid InstanceId,
    Microsoft.Extensions.Logging.ILogger Logger, CacheDiagnostics Diagnostics);
