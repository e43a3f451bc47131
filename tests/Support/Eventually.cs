using System.Diagnostics;

namespace Fusion.Tests.Support;

/// <summary>
/// Waits for work the cache finishes on the thread pool (a background write, a flight leaving its table).
/// It only synchronises with other threads: time semantics always come from the fake clock. The real-time
/// bound exists so a broken cache fails the test instead of hanging it.
/// </summary>
internal static class Eventually
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    /// <summary>True as soon as <paramref name="condition"/> holds; false if it never does within <see cref="Bound"/>.</summary>
    public static Task<bool> Holds(Func<bool> condition) => Holds(() => new ValueTask<bool>(condition()));

    /// <inheritdoc cref="Holds(Func{bool})"/>
    public static async Task<bool> Holds(Func<ValueTask<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Bound) return false;
            await Task.Yield();
        }
        return true;
    }

    /// <summary>Asserts that <paramref name="condition"/> comes to hold.</summary>
    public static Task Assert(Func<bool> condition, string what) => Assert(() => new ValueTask<bool>(condition()), what);

    /// <inheritdoc cref="Assert(Func{bool}, string)"/>
    public static async Task Assert(Func<ValueTask<bool>> condition, string what)
    {
        if (!await Holds(condition)) throw new Xunit.Sdk.XunitException($"never happened: {what}");
    }

    /// <summary>Awaits a task the cache should complete, failing instead of hanging when it does not.</summary>
    public static async Task<T> Within<T>(ValueTask<T> task) => await task.AsTask().WaitAsync(Bound);

    /// <inheritdoc cref="Within{T}(ValueTask{T})"/>
    public static Task<T> Within<T>(Task<T> task) => task.WaitAsync(Bound);
}
