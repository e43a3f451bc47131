namespace Fusion.Tests.Distributed.Support;

/// <summary>
/// The cache's system clock is coarse: it moves in steps of the OS tick (<c>Environment.TickCount64</c>, 4 ms on this
/// machine) from an anchor each node takes from the wall clock, so writes within one step share a timestamp, and two
/// nodes' clocks differ by up to a step. Tests whose writes must be ordered by time space them by more than that; the
/// tests named "…WithinOneClockStep…" show what happens when they are not.
/// </summary>
internal static class ClockStep
{
    /// <summary>Comfortably more than one step and the skew between two nodes.</summary>
    public static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(15);

    /// <summary>Waits until a write made now is stamped later than every write made before, on any node.</summary>
    public static Task Pass() => Task.Delay(Gap);
}
