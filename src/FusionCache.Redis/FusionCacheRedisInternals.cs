using Fusion.Distributed;

namespace Fusion;

/// <summary>The Redis level behind a cache, for this package's tests and diagnostics.</summary>
internal static class FusionCacheRedisInternals
{
    extension(FusionCache cache)
    {
        /// <summary>The cache's Redis level; null for a memory-only cache.</summary>
        internal DistributedLevel? Distributed => cache.Level2 as DistributedLevel;
    }
}
