using System.Diagnostics;

namespace Fusion.Tests.Redis.Support;

/// <summary>
/// Waits in real time for something outside the process (a server starting, a client reconnecting), polling at a
/// short interval. Unlike <c>Fusion.Tests.Support.Eventually</c> the bound is chosen per wait, since real networks
/// and processes need more than a thread-pool hop, and an exception from the condition counts as "not yet".
/// </summary>
internal static class Poll
{
    /// <summary>Time between two checks.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// Returns once <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> naming
    /// <paramref name="what"/> and the last exception seen if it never does within <paramref name="bound"/>.
    /// </summary>
    public static async Task Until(Func<Task<bool>> condition, TimeSpan bound, string what)
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition()) return;
                last = null;
            }
            catch (Exception e)
            {
                last = e;
            }
            if (clock.Elapsed > bound)
            {
                var error = last is null ? "" : $" (last error: {last.GetType().Name}: {last.Message})";
                throw new TimeoutException($"never happened within {bound.TotalSeconds:0.#}s: {what}{error}");
            }
            await Task.Delay(Interval);
        }
    }
}
