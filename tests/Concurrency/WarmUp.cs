using LanguageExt;

namespace Fusion.Tests.Concurrency;

/// <summary>
/// Runs every path of the cache once (with short delays) before the first recorded run, so that compiling them
/// does not count as a caller's wait: a first call on a cold process can take a second on a loaded machine.
/// </summary>
internal static class WarmUp
{
    private static readonly Lazy<Task> Run = new(Paths);

    public static Task Once => Run.Value;

    private static async Task Paths()
    {
        using var cache = new FusionCacheBuilder().Build();
        var recorder = new Recorder();
        var i = 0;
        foreach (var behaviour in Enum.GetValues<Behaviour>())
        foreach (var failSafe in new[] { false, true })
        {
            var key = $"warm{i++}";
            var options = new FusionCacheEntryOptions
            {
                Duration = TimeSpan.FromMilliseconds(5),
                IsFailSafeEnabled = failSafe,
                FactorySoftTimeout = TimeSpan.FromMilliseconds(2),
                FactoryHardTimeout = TimeSpan.FromMilliseconds(5),
                AllowTimedOutFactoryBackgroundCompletion = failSafe,
                EagerRefreshThreshold = 0.5,
            };
            var factory = new RecordingFactory(recorder, behaviour, 10, () => false);
            await cache.Set(key, new Val(key, 0), options);
            await Task.Delay(7);
            await cache.GetOrSet<Val>(key, factory.Invoke, options);
            await cache.GetOrSet(key, factory.Invoke, Option<Val>.Some(Val.Default(key)), options);
            using var cts = new CancellationTokenSource(3);
            await cache.GetOrSet<Val>(key, factory.Invoke, options, cts.Token);
            await cache.TryGet<Val>(key, options);
            await cache.Expire(key, options);
            await cache.GetOrSet<Val>(key, factory.Invoke, options);
            await cache.Remove(key, options);
        }
        await Task.Delay(50);
    }
}
