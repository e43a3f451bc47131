using Fusion.Core;

namespace Fusion.Runtime;

/// <summary>The shell's sources of time and randomness, which the core receives as plain inputs.</summary>
internal sealed class Clock(TimeProvider time)
{
    public TimeProvider Time { get; } = time;

    /// <summary>Now, in UTC ticks.</summary>
    public long Now => Time.GetUtcNow().UtcTicks;

    /// <summary>A jitter draw in [0, JitterMaxDuration), in ticks.</summary>
    public long Jitter(EntryOptions options)
    {
        var max = options.JitterMaxDuration.Ticks;
        return max > 0 ? Random.Shared.NextInt64(max) : 0;
    }
}
