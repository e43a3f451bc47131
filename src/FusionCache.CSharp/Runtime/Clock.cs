using Fusion.Core;

namespace Fusion.Runtime;

/// <summary>The shell's sources of time and randomness, which the core receives as plain inputs.</summary>
internal sealed class Clock(TimeProvider time)
{
    private long _sequence;

    public TimeProvider Time { get; } = time;

    /// <summary>The node's next write sequence: orders writes that share a clock tick.</summary>
    public long NextSequence() => Interlocked.Increment(ref _sequence);

    /// <summary>Now, in UTC ticks.</summary>
    public long Now => Time.GetUtcNow().UtcTicks;

    /// <summary>A jitter draw in [0, JitterMaxDuration), in ticks.</summary>
    public long Jitter(EntryOptions options)
    {
        var max = options.JitterMaxDuration.Ticks;
        return max > 0 ? Random.Shared.NextInt64(max) : 0;
    }
}
