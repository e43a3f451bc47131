using Fusion.Core;
using Microsoft.FSharp.Core;

namespace Fusion;

/// <summary>
/// Entry options for one call (or the cache-wide defaults). Only the properties you set override the
/// cache's defaults; the rest follow them. Each value is checked when it is given: an invalid one
/// throws <see cref="ArgumentOutOfRangeException"/> naming the option and the value.
/// </summary>
/// <example><code>new FusionCacheEntryOptions { Duration = TimeSpan.FromMinutes(5), IsFailSafeEnabled = true }</code></example>
public sealed class FusionCacheEntryOptions
{
    private TimeSpan? _duration, _failSafeMaxDuration, _failSafeThrottleDuration, _softTimeout, _hardTimeout, _jitter;
    private TimeSpan? _distributedDuration, _distributedSoftTimeout, _distributedHardTimeout;
    private bool? _failSafe, _backgroundCompletion, _staleOnReadOnly;
    private bool? _backgroundDistributed, _backgroundBackplane, _skipDistributedRead, _skipDistributedWrite, _skipBackplane;
    private bool? _skipMemoryRead, _skipMemoryWrite;
    private int? _maxCycles;
    private double? _eagerRefresh;
    private bool _eagerRefreshSet;
    private Resolved? _resolved;

    /// <summary>Logical lifetime of an entry.</summary><value>Default 30 s.</value>
    public TimeSpan Duration { get => _duration ?? EntryOptionsModule.Default.Duration; init => _duration = Check(OptionRules.duration(nameof(Duration), value), nameof(Duration), value); }

    /// <summary>Keep entries past their logical expiry and serve them as fallback when the factory fails.</summary><value>Default false.</value>
    public bool IsFailSafeEnabled { get => _failSafe ?? false; init => _failSafe = value; }

    /// <summary>Physical lifetime of an entry when fail-safe is on (raised to <see cref="Duration"/> if lower).</summary><value>Default 1 day.</value>
    public TimeSpan FailSafeMaxDuration { get => _failSafeMaxDuration ?? EntryOptionsModule.Default.FailSafeMaxDuration; init => _failSafeMaxDuration = Check(OptionRules.duration(nameof(FailSafeMaxDuration), value), nameof(FailSafeMaxDuration), value); }

    /// <summary>How long a value served by fail-safe counts as valid again, so the source is not hammered.</summary><value>Default 30 s.</value>
    public TimeSpan FailSafeThrottleDuration { get => _failSafeThrottleDuration ?? EntryOptionsModule.Default.FailSafeThrottleDuration; init => _failSafeThrottleDuration = Check(OptionRules.duration(nameof(FailSafeThrottleDuration), value), nameof(FailSafeThrottleDuration), value); }

    /// <summary>Consecutive fail-safe activations allowed without a factory success; the next failure returns the error.</summary><value>Default <see cref="int.MaxValue"/> (unlimited).</value>
    public int MaxFailSafeCycles { get => _maxCycles ?? int.MaxValue; init => _maxCycles = Check(OptionRules.count(nameof(MaxFailSafeCycles), value), nameof(MaxFailSafeCycles), value); }

    /// <summary>Past it the fallback is returned and the factory keeps running; applies only with fail-safe on and a fallback.</summary><value>Default <see cref="Timeout.InfiniteTimeSpan"/>.</value>
    public TimeSpan FactorySoftTimeout { get => _softTimeout ?? Timeout.InfiniteTimeSpan; init => _softTimeout = Check(OptionRules.timeout(nameof(FactorySoftTimeout), value), nameof(FactorySoftTimeout), value); }

    /// <summary>Past it the fallback (if fail-safe allows) or <see cref="Err.FactoryTimedOut"/> is returned.</summary><value>Default <see cref="Timeout.InfiniteTimeSpan"/>.</value>
    public TimeSpan FactoryHardTimeout { get => _hardTimeout ?? Timeout.InfiniteTimeSpan; init => _hardTimeout = Check(OptionRules.timeout(nameof(FactoryHardTimeout), value), nameof(FactoryHardTimeout), value); }

    /// <summary>A timed-out factory keeps running and its success updates the cache.</summary><value>Default true.</value>
    public bool AllowTimedOutFactoryBackgroundCompletion { get => _backgroundCompletion ?? true; init => _backgroundCompletion = value; }

    /// <summary>Fraction of <see cref="Duration"/> in (0, 1) after which a hit starts one background refresh; null for none.</summary><value>Default null.</value>
    public double? EagerRefreshThreshold
    {
        get => _eagerRefresh;
        init
        {
            if (value is double t) Check(OptionRules.threshold(nameof(EagerRefreshThreshold), t), nameof(EagerRefreshThreshold), t);
            _eagerRefresh = value;
            _eagerRefreshSet = true;
        }
    }

    /// <summary>Random extra logical lifetime in [0, value), to spread expirations.</summary><value>Default 0.</value>
    public TimeSpan JitterMaxDuration { get => _jitter ?? TimeSpan.Zero; init => _jitter = Check(OptionRules.duration(nameof(JitterMaxDuration), value), nameof(JitterMaxDuration), value); }

    /// <summary><c>TryGet</c> may return a stale (fallback) value.</summary><value>Default false.</value>
    public bool AllowStaleOnReadOnly { get => _staleOnReadOnly ?? false; init => _staleOnReadOnly = value; }

    /// <summary>Logical lifetime in L2; null means the same as <see cref="Duration"/>.</summary><value>Default null.</value>
    public TimeSpan? DistributedCacheDuration
    {
        get => _distributedDuration;
        init => _distributedDuration = value is TimeSpan d ? Check(OptionRules.duration(nameof(DistributedCacheDuration), d), nameof(DistributedCacheDuration), d) : null;
    }

    /// <summary>Past it an L2 read is abandoned (a miss) when a fallback exists; a write, which has its value
    /// in hand, is always abandoned past it (and queued for recovery).</summary><value>Default <see cref="Timeout.InfiniteTimeSpan"/>.</value>
    public TimeSpan DistributedCacheSoftTimeout { get => _distributedSoftTimeout ?? Timeout.InfiniteTimeSpan; init => _distributedSoftTimeout = Check(OptionRules.timeout(nameof(DistributedCacheSoftTimeout), value), nameof(DistributedCacheSoftTimeout), value); }

    /// <summary>Past it an L2 operation is abandoned (a read is a miss, a write is queued for recovery).</summary><value>Default 1 s: a paused or stalled Redis never holds a caller much longer.</value>
    public TimeSpan DistributedCacheHardTimeout { get => _distributedHardTimeout ?? EntryOptionsModule.Default.DistributedCacheHardTimeout; init => _distributedHardTimeout = Check(OptionRules.timeout(nameof(DistributedCacheHardTimeout), value), nameof(DistributedCacheHardTimeout), value); }

    /// <summary>L2 writes are fire-and-forget: callers do not wait for them.</summary><value>Default false (or the <c>backgroundWrites</c> given to <c>WithRedis</c>).</value>
    public bool AllowBackgroundDistributedCacheOperations { get => _backgroundDistributed ?? false; init => _backgroundDistributed = value; }

    /// <summary>Backplane publishes are fire-and-forget.</summary><value>Default true.</value>
    public bool AllowBackgroundBackplaneOperations { get => _backgroundBackplane ?? true; init => _backgroundBackplane = value; }

    /// <summary>Do not read L2 for this call.</summary><value>Default false.</value>
    public bool SkipDistributedCacheRead { get => _skipDistributedRead ?? false; init => _skipDistributedRead = value; }

    /// <summary>Do not write L2 for this call.</summary><value>Default false.</value>
    public bool SkipDistributedCacheWrite { get => _skipDistributedWrite ?? false; init => _skipDistributedWrite = value; }

    /// <summary>Do not notify other nodes of this call's writes.</summary><value>Default false.</value>
    public bool SkipBackplaneNotifications { get => _skipBackplane ?? false; init => _skipBackplane = value; }

    /// <summary>Do not read L1 (memory) for this call: no hit, fallback or stale value comes from it; the value comes from
    /// L2 or the factory (still one factory run per key at a time).</summary><value>Default false.</value>
    public bool SkipMemoryCacheRead { get => _skipMemoryRead ?? false; init => _skipMemoryRead = value; }

    /// <summary>Do not store this call's result in L1 (memory). A new value (a <c>Set</c>, a factory's) still drops this
    /// node's older copy, so no later read here returns the older value; a fail-safe activation is not stored (each call
    /// then runs the factory).</summary><value>Default false.</value>
    public bool SkipMemoryCacheWrite { get => _skipMemoryWrite ?? false; init => _skipMemoryWrite = value; }

    /// <summary>Sets both <see cref="SkipMemoryCacheRead"/> and <see cref="SkipMemoryCacheWrite"/>: L2 and the factory
    /// only. Reads true when both are.</summary><value>Default false.</value>
    public bool SkipMemoryCache
    {
        get => SkipMemoryCacheRead && SkipMemoryCacheWrite;
        init => _skipMemoryRead = _skipMemoryWrite = value;
    }

    /// <summary>The tags the written entry carries: <see cref="FusionCache.RemoveByTag(string, bool, CancellationToken)"/> of any of them, or
    /// <see cref="FusionCache.Clear(bool, CancellationToken)"/>, made after the write makes it absent (or stale).</summary>
    /// <value>Default none. Each tag must be a non-empty string.</value>
    public IReadOnlyList<string>? Tags
    {
        get => _tags;
        init => _tags = value is null ? null : CheckTags(value);
    }

    private string[]? _tags;

    private static string[] CheckTags(IReadOnlyList<string> tags)
    {
        var copy = new string[tags.Count];
        for (var i = 0; i < copy.Length; i++)
        {
            if (string.IsNullOrEmpty(tags[i])) Throw.IfInvalid($"Tags[{i}] = '{tags[i]}' is invalid: a tag must be a non-empty string", nameof(Tags), tags[i]);
            copy[i] = tags[i];
        }
        return copy.Distinct(StringComparer.Ordinal).ToArray();
    }

    private static TV Check<TV>(string? message, string name, TV value) where TV : notnull
    {
        Throw.IfInvalid(message, name, value);
        return value;
    }

    /// <summary>Options that set every value to <paramref name="o"/>'s (a cache's resolved defaults, as callers read them).</summary>
    internal static FusionCacheEntryOptions Of(EntryOptions o) => new()
    {
        Duration = o.Duration,
        IsFailSafeEnabled = o.IsFailSafeEnabled,
        FailSafeMaxDuration = o.FailSafeMaxDuration,
        FailSafeThrottleDuration = o.FailSafeThrottleDuration,
        MaxFailSafeCycles = o.MaxFailSafeCycles,
        FactorySoftTimeout = o.FactorySoftTimeout,
        FactoryHardTimeout = o.FactoryHardTimeout,
        AllowTimedOutFactoryBackgroundCompletion = o.AllowTimedOutFactoryBackgroundCompletion,
        EagerRefreshThreshold = o.EagerRefreshThreshold.IsSome ? o.EagerRefreshThreshold.Value : null,
        JitterMaxDuration = o.JitterMaxDuration,
        AllowStaleOnReadOnly = o.AllowStaleOnReadOnly,
        DistributedCacheDuration = o.DistributedCacheDuration.IsSome ? o.DistributedCacheDuration.Value : null,
        DistributedCacheSoftTimeout = o.DistributedCacheSoftTimeout,
        DistributedCacheHardTimeout = o.DistributedCacheHardTimeout,
        AllowBackgroundDistributedCacheOperations = o.AllowBackgroundDistributedCacheOperations,
        AllowBackgroundBackplaneOperations = o.AllowBackgroundBackplaneOperations,
        SkipDistributedCacheRead = o.SkipDistributedCacheRead,
        SkipDistributedCacheWrite = o.SkipDistributedCacheWrite,
        SkipBackplaneNotifications = o.SkipBackplaneNotifications,
        SkipMemoryCacheRead = o.SkipMemoryCacheRead,
        SkipMemoryCacheWrite = o.SkipMemoryCacheWrite,
        Tags = o.Tags.Length == 0 ? null : o.Tags,
    };

    /// <summary>Options that set only <see cref="Duration"/> (the rest follow the cache's defaults). A
    /// <see cref="TimeSpan"/> passed where options go means this: <c>cache.GetOrSet("k", factory, TimeSpan.FromMinutes(5))</c>.
    /// The same few durations are reused, so the shorthand allocates nothing per call.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The duration is not positive or is infinite.</exception>
    public static FusionCacheEntryOptions FromDuration(TimeSpan duration)
    {
        if (ByDuration.TryGetValue(duration.Ticks, out var known)) return known;
        var options = new FusionCacheEntryOptions { Duration = duration };
        // Durations in code are a handful of constants; a computed one per call must not grow this without bound.
        if (ByDuration.Count < MaxKnownDurations) ByDuration.TryAdd(duration.Ticks, options);
        return options;
    }

    /// <summary>The per-call duration shorthand: <see cref="FromDuration(TimeSpan)"/>.</summary>
    public static implicit operator FusionCacheEntryOptions(TimeSpan duration) => FromDuration(duration);

    private const int MaxKnownDurations = 256;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<long, FusionCacheEntryOptions> ByDuration = new();

    /// <summary>
    /// The core record: these overrides laid over <paramref name="defaults"/>. Computed once per
    /// defaults instance and kept, so a reused options object costs nothing per call.
    /// </summary>
    internal EntryOptions Resolve(EntryOptions defaults)
    {
        var resolved = _resolved;
        if (resolved is not null && ReferenceEquals(resolved.Defaults, defaults)) return resolved.Options;
        var options = new EntryOptions(
            _duration ?? defaults.Duration,
            _failSafe ?? defaults.IsFailSafeEnabled,
            _failSafeMaxDuration ?? defaults.FailSafeMaxDuration,
            _failSafeThrottleDuration ?? defaults.FailSafeThrottleDuration,
            _maxCycles ?? defaults.MaxFailSafeCycles,
            _softTimeout ?? defaults.FactorySoftTimeout,
            _hardTimeout ?? defaults.FactoryHardTimeout,
            _backgroundCompletion ?? defaults.AllowTimedOutFactoryBackgroundCompletion,
            _eagerRefreshSet ? ToValueOption(_eagerRefresh) : defaults.EagerRefreshThreshold,
            _jitter ?? defaults.JitterMaxDuration,
            _staleOnReadOnly ?? defaults.AllowStaleOnReadOnly,
            _distributedDuration is TimeSpan d ? FSharpValueOption<TimeSpan>.NewValueSome(d) : defaults.DistributedCacheDuration,
            _distributedSoftTimeout ?? defaults.DistributedCacheSoftTimeout,
            _distributedHardTimeout ?? defaults.DistributedCacheHardTimeout,
            _backgroundDistributed ?? defaults.AllowBackgroundDistributedCacheOperations,
            _backgroundBackplane ?? defaults.AllowBackgroundBackplaneOperations,
            _skipDistributedRead ?? defaults.SkipDistributedCacheRead,
            _skipDistributedWrite ?? defaults.SkipDistributedCacheWrite,
            _skipBackplane ?? defaults.SkipBackplaneNotifications,
            _skipMemoryRead ?? defaults.SkipMemoryCacheRead,
            _skipMemoryWrite ?? defaults.SkipMemoryCacheWrite,
            _tags ?? defaults.Tags);
        _resolved = new Resolved(defaults, options); // a benign race: both writers compute the same
        return options;
    }

    private static FSharpValueOption<double> ToValueOption(double? value) =>
        value is double v ? FSharpValueOption<double>.NewValueSome(v) : FSharpValueOption<double>.ValueNone;

    private sealed record Resolved(EntryOptions Defaults, EntryOptions Options);
}
