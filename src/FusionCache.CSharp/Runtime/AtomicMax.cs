namespace Fusion.Runtime;

/// <summary>A lock-free "raise to at least": the one compare-and-swap loop behind the clock's observed stamps, the latest
/// invalidation and the longest lifetimes kept for invalidation marks.</summary>
internal static class AtomicMax
{
    /// <summary>Sets <paramref name="location"/> to <paramref name="value"/> unless it already holds as much or more.</summary>
    public static void Raise(ref long location, long value)
    {
        var last = Volatile.Read(ref location);
        while (value > last)
        {
            var seen = Interlocked.CompareExchange(ref location, value, last);
            if (seen == last) return;
            last = seen;
        }
    }
}
