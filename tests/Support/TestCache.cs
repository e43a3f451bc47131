using Microsoft.Extensions.Time.Testing;

namespace Fusion.Tests.Support;

/// <summary>A cache on a fake clock, with a recording logger. Time moves only when a test advances it.</summary>
internal sealed class TestCache : IDisposable
{
    private TestCache(FusionCache cache, FakeTimeProvider time, RecordingLogger log)
    {
        Cache = cache;
        Time = time;
        Log = log;
    }

    public FusionCache Cache { get; }
    public FakeTimeProvider Time { get; }
    public RecordingLogger Log { get; }

    /// <summary>Builds a cache; <paramref name="configure"/> adds options to the builder (clock and logger are set here).</summary>
    public static TestCache Create(Func<FusionCacheBuilder, FusionCacheBuilder>? configure = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var log = new RecordingLogger();
        var builder = new FusionCacheBuilder().WithTimeProvider(time).WithLogger(log);
        var cache = (configure?.Invoke(builder) ?? builder).Build();
        return new TestCache(cache, time, log);
    }

    /// <summary>A cache whose entries default to fail-safe on, with a short duration.</summary>
    public static TestCache WithFailSafe(TimeSpan? duration = null, TimeSpan? maxDuration = null, TimeSpan? throttle = null, int? maxCycles = null) =>
        Create(b => b.WithDuration(duration ?? TimeSpan.FromSeconds(10))
            .WithFailSafe(maxDuration: maxDuration, throttle: throttle, maxCycles: maxCycles));

    public void Advance(TimeSpan by) => Time.Advance(by);

    /// <summary>Writes a value, then moves the clock by <paramref name="by"/> (past the duration: the value is only a fallback).</summary>
    public async Task SetThenAdvance<T>(string key, T value, TimeSpan by)
    {
        await Cache.Set(key, value);
        Time.Advance(by);
    }

    /// <summary>What <c>TryGet</c> sees under the key now (fresh values only), or null.</summary>
    public async Task<T?> Cached<T>(string key) where T : class
    {
        var value = await Cache.TryGet<T>(key);
        return value.IsSome ? Expect.Some(value) : null;
    }

    public void Dispose() => Cache.Dispose();
}
