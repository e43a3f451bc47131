using System.Collections.Concurrent;
using System.Diagnostics;
using LanguageExt;

namespace Fusion.Tests.Concurrency;

/// <summary>The shape of a run: how many workers and keys, for how long, and the bounds of the waits at the end.</summary>
internal sealed record WorkloadSettings
{
    public int Workers { get; init; } = 16;
    public int Keys { get; init; } = 4;
    /// <summary>How long workers start new operations.</summary>
    public TimeSpan RunFor { get; init; } = TimeSpan.FromSeconds(2.5);
    /// <summary>How long, after <see cref="RunFor"/>, every call gets to return (a call still waiting is reported).</summary>
    public TimeSpan CallBound { get; init; } = TimeSpan.FromSeconds(8);
    /// <summary>How long every factory run and the flight table get to finish after the calls.</summary>
    public TimeSpan DrainBound { get; init; } = TimeSpan.FromSeconds(8);
    public int MinDurationMs { get; init; } = 20;
    public int MaxDurationMs { get; init; } = 80;
    /// <summary>The flaky key's source is down every other phase of this length.</summary>
    public TimeSpan OutagePhase { get; init; } = TimeSpan.FromMilliseconds(1000);
}

/// <summary>
/// N workers on the thread pool make random calls on a handful of keys of one cache on the real clock, with
/// random per-call options and factories of every behaviour; everything is recorded. Each worker draws from
/// its own <see cref="Random"/> seeded from the run's seed, so a seed fixes every choice (not the schedule).
/// </summary>
internal sealed class Workload
{
    private readonly int _seed;
    private readonly WorkloadSettings _settings;
    private readonly Recorder _recorder = new();
    private readonly FusionCache _cache;

    private Workload(int seed, WorkloadSettings settings, FusionCache cache)
    {
        _seed = seed;
        _settings = settings;
        _cache = cache;
    }

    public static async Task<History> Run(int seed, WorkloadSettings? settings = null)
    {
        settings ??= new WorkloadSettings();
        await WarmUp.Once;
        var unobserved = new ConcurrentQueue<string>();
        var foreign = new ConcurrentQueue<string>();
        void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
        {
            // Only what comes from this workload's factories or its calls: a task another test left behind may
            // be finalized during the run (that one is only written to the output).
            var text = e.Exception.ToString();
            (Ours(text) ? unobserved : foreign).Enqueue(text);
            e.SetObserved();
        }
        // Earlier garbage is not this run's: let its finalizers run before listening.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        TaskScheduler.UnobservedTaskException += OnUnobserved;
        try
        {
            using var cache = new FusionCacheBuilder().WithCapacity(1000).Build();
            var workload = new Workload(seed, settings, cache);
            using var stalls = new StallMonitor(workload._recorder);
            var workers = Enumerable.Range(0, settings.Workers).Select(i => Task.Run(() => workload.Worker(i))).ToArray();
            // A call that never returns is reported by the checks (it stays "never returned"), not waited for.
            await Task.WhenAny(Task.WhenAll(workers), Task.Delay(settings.RunFor + settings.CallBound));
            await Until(() => workload._recorder.RunningFactories == 0, settings.DrainBound);
            await Until(() => cache.InFlightCount == 0, settings.DrainBound);
            var inFlight = cache.InFlightCount;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            foreach (var f in foreign) Console.Error.WriteLine($"seed {seed}: an unobserved task exception from elsewhere: {f}");
            return workload._recorder.Snapshot(unobserved, inFlight, TimeSpan.FromMilliseconds(settings.MaxDurationMs), stalls.Stalls);
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }
    }

    private static bool Ours(string exception) =>
        exception.Contains(nameof(WorkloadException), StringComparison.Ordinal) ||
        exception.Contains(typeof(Workload).Namespace!, StringComparison.Ordinal);

    private static async Task Until(Func<bool> condition, TimeSpan bound)
    {
        var clock = Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < bound) await Task.Delay(10);
    }

    private async Task Worker(int index)
    {
        var rng = new Random(unchecked(_seed * 7919 + index));
        while (_recorder.Now < _settings.RunFor)
        {
            var key = $"k{rng.Next(_settings.Keys)}";
            var options = DrawOptions(rng, key);
            var op = rng.Next(100);
            // The flaky key is only expired, and rarely, so its old values stay its fallbacks.
            if (op >= 68 && op < 91 && IsFlaky(key)) op = rng.Next(4) == 0 ? 85 : rng.Next(68);
            if (op < 68) await GetOrSet(key, options, DrawFactory(rng, key), rng.Next(100) < 15);
            else if (op < 77) await Set(key, options);
            else if (op < 84) await Remove(key, options);
            else if (op < 91) await Expire(key, options);
            else await TryGet(key, options);
            if (rng.Next(4) == 0) await Task.Yield();
        }
    }

    private CallOptions DrawOptions(Random rng, string key)
    {
        var hard = rng.Next(100) < 55 ? TimeSpan.FromMilliseconds(rng.Next(20, 90)) : (TimeSpan?)null;
        var soft = rng.Next(100) < 25 ? TimeSpan.FromMilliseconds(rng.Next(10, 50)) : (TimeSpan?)null;
        if (soft > hard) soft = hard;
        return new CallOptions(
            Duration: TimeSpan.FromMilliseconds(rng.Next(_settings.MinDurationMs, _settings.MaxDurationMs + 1)),
            FailSafe: rng.Next(2) == 0,
            SoftTimeout: soft,
            HardTimeout: hard,
            BackgroundCompletion: rng.Next(100) < 70,
            EagerRefresh: rng.Next(100) < 15 ? 0.3 + rng.Next(60) / 100.0 : null,
            // A short-lived token sometimes; otherwise most callers without a hard timeout give up after about a
            // second, so a hanging factory does not hold every worker.
            CancelAfterMs: rng.Next(100) < 10 ? rng.Next(5, 120) : hard is null && rng.Next(4) != 0 ? rng.Next(600, 1200) : null,
            // Calls that skip L1 still share the key's flight (invariant 10) and never see older values (11).
            SkipMemoryRead: rng.Next(100) < 8,
            SkipMemoryWrite: rng.Next(100) < 8);
    }

    private static FusionCacheEntryOptions ToEntryOptions(CallOptions o) => new()
    {
        Duration = o.Duration,
        IsFailSafeEnabled = o.FailSafe,
        FailSafeThrottleDuration = TimeSpan.FromMilliseconds(20),
        FactorySoftTimeout = o.SoftTimeout ?? Timeout.InfiniteTimeSpan,
        FactoryHardTimeout = o.HardTimeout ?? Timeout.InfiniteTimeSpan,
        AllowTimedOutFactoryBackgroundCompletion = o.BackgroundCompletion,
        EagerRefreshThreshold = o.EagerRefresh,
        SkipMemoryCacheRead = o.SkipMemoryRead,
        SkipMemoryCacheWrite = o.SkipMemoryWrite,
    };

    private bool IsFlaky(string key) => key == $"k{_settings.Keys - 1}";

    /// <summary>The flaky key's source is down every other <see cref="WorkloadSettings.OutagePhase"/>.</summary>
    private bool SourceDown(string key) =>
        IsFlaky(key) && (long)(_recorder.Now / _settings.OutagePhase) % 2 == 1;

    /// <summary>The last key is flaky: its factories fail more often, and its source has outages.</summary>
    private RecordingFactory DrawFactory(Random rng, string key)
    {
        var flaky = IsFlaky(key);
        // Weights (per mille) of SyncRight, AsyncRight, Left, ThrowSync, Faulted, Slow, TokenAware, Hangs.
        int[] weights = flaky ? [80, 120, 250, 100, 100, 140, 180, 12] : [200, 320, 80, 50, 50, 120, 170, 8];
        var r = rng.Next(weights.Sum());
        var b = 0;
        while (r >= weights[b]) r -= weights[b++];
        var behaviour = (Behaviour)b;
        var delay = behaviour switch
        {
            Behaviour.AsyncRight => rng.Next(1, 20),
            Behaviour.Slow => rng.Next(100, 300),
            Behaviour.TokenAware => rng.Next(30, 300),
            Behaviour.Hangs => rng.Next(2000, 2400),
            _ => 0,
        };
        return new RecordingFactory(_recorder, behaviour, delay, () => SourceDown(key));
    }

    private async Task GetOrSet(string key, CallOptions drawn, RecordingFactory factory, bool withDefault)
    {
        var options = drawn with { FailSafeDefault = withDefault, Factory = factory.ToString() };
        var entryOptions = ToEntryOptions(options);
        var call = _recorder.BeginCall(OpKind.GetOrSet, key, options);
        Recorder.CurrentCall.Value = call.Id;
        using var cts = options.CancelAfterMs is int ms ? new CancellationTokenSource(TimeSpan.FromMilliseconds(ms)) : null;
        try
        {
            var token = cts?.Token ?? CancellationToken.None;
            var result = withDefault
                ? await _cache.GetOrSet(key, factory.Invoke, Option<Val>.Some(Val.Default(key)), entryOptions, token)
                : await _cache.GetOrSet<Val>(key, factory.Invoke, entryOptions, token);
            if (result.IsBottom) call.Ended(thrown: "returned Bottom");
            else result.Match(Right: v => call.Ended(value: v), Left: e => call.Ended(error: e));
        }
        catch (Exception ex)
        {
            call.Ended(thrown: $"{ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            Recorder.CurrentCall.Value = 0;
        }
    }

    private async Task Set(string key, CallOptions options)
    {
        var call = _recorder.BeginCall(OpKind.Set, key, options);
        var value = new Val(key, call.Id);
        try
        {
            await _cache.Set(key, value, ToEntryOptions(options));
            call.Ended(written: value);
        }
        catch (Exception ex)
        {
            call.Ended(thrown: $"{ex.GetType().Name}: {ex.Message}", written: value);
        }
    }

    private Task Remove(string key, CallOptions options) => Write(OpKind.Remove, key, options, static (c, k, o) => c.Remove(k, o));

    private Task Expire(string key, CallOptions options) => Write(OpKind.Expire, key, options, static (c, k, o) => c.Expire(k, o));

    private async Task Write(OpKind kind, string key, CallOptions options, Func<FusionCache, string, FusionCacheEntryOptions, ValueTask> write)
    {
        var call = _recorder.BeginCall(kind, key, options);
        try
        {
            await write(_cache, key, ToEntryOptions(options));
            call.Ended();
        }
        catch (Exception ex)
        {
            call.Ended(thrown: $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    private async Task TryGet(string key, CallOptions options)
    {
        var call = _recorder.BeginCall(OpKind.TryGet, key, options with { FailSafe = false });
        try
        {
            var found = await _cache.TryGet<Val>(key, new FusionCacheEntryOptions { Duration = options.Duration });
            call.Ended(value: found.Case as Val);
        }
        catch (Exception ex)
        {
            call.Ended(thrown: $"{ex.GetType().Name}: {ex.Message}");
        }
    }
}
