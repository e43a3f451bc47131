using System.Diagnostics;

namespace Fusion.Tests.Support;

/// <summary>
/// Checks that something does NOT happen: the condition is polled for a short real-time window. It is the
/// counterpart of <see cref="Eventually"/> for results that must never land; time semantics still come from
/// the fake clock, the window only gives the thread pool a chance to run work the cache left behind.
/// </summary>
internal static class Throughout
{
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(300);

    /// <summary>Asserts that <paramref name="condition"/> holds at every poll during <see cref="Window"/>.</summary>
    public static async Task Assert(Func<ValueTask<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        do
        {
            if (!await condition()) throw new Xunit.Sdk.XunitException($"stopped holding after {clock.ElapsedMilliseconds} ms: {what}");
            await Task.Yield();
        }
        while (clock.Elapsed < Window);
    }
}
