using System.Diagnostics;
using Fusion.Core;
using LanguageExt;
using Microsoft.Extensions.Logging;
using Microsoft.FSharp.Core;

namespace Fusion.Runtime;

/// <summary>
/// One cache's logs, metrics and spans: its name as the tag of every measurement and span, its logger (already
/// <see cref="SafeLogger"/>), its <see cref="FusionCacheLogLevels"/>, and the aggregation of its repeated events. It
/// reports what the core decided; it decides nothing. Every method is cheap while nothing listens; callers on the
/// hit path check the instrument's <c>Enabled</c> themselves before calling.
/// </summary>
internal sealed class CacheDiagnostics
{
    private readonly KeyValuePair<string, object?> _nameTag;
    private readonly LogThrottle _factoryErrors, _timeouts, _activations;

    public CacheDiagnostics(string name, ILogger logger, FusionCacheLogLevels levels)
    {
        Name = name;
        Logger = SafeLogger.Wrap(logger);
        Levels = levels;
        _nameTag = new(Telemetry.NameTag, name);
        _factoryErrors = new(levels.AggregationWindow);
        _timeouts = new(levels.AggregationWindow);
        _activations = new(levels.AggregationWindow);
    }

    /// <summary>The cache's name (<see cref="FusionCache.Name"/>).</summary>
    public string Name { get; }

    /// <summary>The cache's logger, safe: it never throws.</summary>
    public ILogger Logger { get; }

    public FusionCacheLogLevels Levels { get; }

    /// <summary>The tag every measurement of this cache carries.</summary>
    public KeyValuePair<string, object?> NameTag => _nameTag;

    /// <summary>The level to log an aggregated event at now: its own for the first in the window, Debug after; and how
    /// many went to Debug since the previous one at its level.</summary>
    public static LogLevel LevelNow(LogThrottle throttle, LogLevel level, long now, out long aggregated)
    {
        if (level == LogLevel.None) { aggregated = 0; return LogLevel.None; }
        return throttle.ShouldLog(now, out aggregated) ? level : LogLevel.Debug;
    }

    // Metrics of reads.

    /// <summary>A call answered from L1 (the caller checked <c>Telemetry.Hits.Enabled || StaleHits.Enabled</c>).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    public void Hit(Entry entry)
    {
        Telemetry.Hits.Add(1, _nameTag);
        if (entry.IsStale) Telemetry.StaleHits.Add(1, _nameTag);
    }

    public void Miss() => Telemetry.Misses.Add(1, _nameTag);

    public void StaleHit() => Telemetry.StaleHits.Add(1, _nameTag);

    // Spans of calls.

    /// <summary>Starts a span (current from here on) and returns it with the activity that was current before, which
    /// the caller makes current again before it returns; null when nobody samples it.</summary>
    public Activity? Start(string spanName, string? key, out Activity? previous)
    {
        previous = Activity.Current;
        return Telemetry.Start(spanName, Name, key);
    }

    /// <summary>Tags a GetOrSet span with what its caller got.</summary>
    public static void Replied(Activity span, Err? error, bool stale)
    {
        if (error is not null)
        {
            span.SetTag(Telemetry.ReplyTag, "error");
            Telemetry.Fail(span, Telemetry.TypeOf(error), error.Message);
        }
        else span.SetTag(Telemetry.ReplyTag, stale ? "stale" : "value");
    }

    // The factory.

    /// <summary>A factory run begins: counted, timed and traced (a span around the factory, current while it is
    /// invoked, so the spans of the factory's own calls are its children) as far as anything listens.</summary>
    public FactoryWatch FactoryStarting(string key, bool refresh)
    {
        if (Telemetry.FactoryRuns.Enabled) Telemetry.FactoryRuns.Add(1, _nameTag);
        var started = Telemetry.FactoryDuration.Enabled ? Stopwatch.GetTimestamp() : 0;
        if (!Telemetry.Source.HasListeners()) return new(null, null, started);
        var span = Start(Telemetry.FactorySpan, key, out var previous);
        if (span is not null && refresh) span.SetTag("fusion.cache.refresh", true);
        return new(span, previous, started);
    }

    /// <summary>The factory's outcome is known: the span ends with it, and its duration is recorded.</summary>
    public void FactoryEnded(in FactoryWatch watch, Outcome outcome)
    {
        if (watch.Started != 0 && Telemetry.FactoryDuration.Enabled)
            Telemetry.FactoryDuration.Record(Stopwatch.GetElapsedTime(watch.Started).TotalSeconds, _nameTag);
        if (watch.Span is not { } span) return;
        var name = outcome.Tag switch
        {
            Outcome.Tags.Succeeded => "succeeded",
            Outcome.Tags.NotModified => "not_modified",
            Outcome.Tags.Failed => "failed",
            Outcome.Tags.TimedOut => "timed_out",
            _ => "cancelled",
        };
        span.SetTag(Telemetry.OutcomeTag, name);
        if (outcome.IsFailed) Telemetry.Fail(span, Telemetry.TypeOf(outcome.Error), outcome.Error.Message);
        else if (outcome.IsTimedOut) Telemetry.Fail(span, nameof(Err.FactoryTimedOut), "the refresh ran past its deadline");
        span.Stop();
    }

    /// <summary>A factory failed (<paramref name="error"/>: what its flight ends with). Counted, and logged at the
    /// configured level with the factory's exception, if any; never the value.</summary>
    public void FactoryFailed(string key, Err error, long now)
    {
        if (Telemetry.FactoryErrors.Enabled) Telemetry.FactoryErrors.Add(1, _nameTag);
        var level = LevelNow(_factoryErrors, Levels.FactoryError, now, out var aggregated);
        if (level == LogLevel.None || !Logger.IsEnabled(level)) return;
        var exception = error is Err.FactoryFailed failed ? failed.Exception : null;
        Log.FactoryFailed(Logger, level, LogText.Of(key), LogText.Of(error.Message), aggregated, exception);
    }

    /// <summary>A wait for a factory, or a refresh, ran past a timeout. Counted (tagged soft, hard or refresh), marked
    /// on the current span, and logged.</summary>
    public void FactoryTimedOut(string key, string kind, TimeSpan timeout, string consequence, long now)
    {
        if (Telemetry.FactoryTimeouts.Enabled) Telemetry.FactoryTimeouts.Add(1, _nameTag, new(Telemetry.TimeoutTag, kind));
        OwnSpan()?.AddEvent(new ActivityEvent("fusion.factory.timed_out",
            tags: new ActivityTagsCollection { [Telemetry.TimeoutTag] = kind, ["fusion.cache.timeout.after_ms"] = timeout.TotalMilliseconds }));
        var level = LevelNow(_timeouts, Levels.FactoryTimeout, now, out var aggregated);
        if (level == LogLevel.None || !Logger.IsEnabled(level)) return;
        Log.FactoryTimedOut(Logger, level, LogText.Of(key), kind, timeout, consequence, aggregated);
    }

    /// <summary>The current activity when it is one of Fusion's spans (events never go to the application's spans).</summary>
    private static Activity? OwnSpan() =>
        Telemetry.Source.HasListeners() && Activity.Current is { } current && ReferenceEquals(current.Source, Telemetry.Source) ? current : null;

    /// <summary>What <paramref name="served"/>, the entry a failure left to serve, is with respect to
    /// <paramref name="before"/>, the entry the decision could fall back on: a new fail-safe activation of it (the same
    /// write, stale, one cycle further: <c>Lifecycle.activated</c>), the fail-safe default made an entry
    /// (<c>Lifecycle.defaulted</c>: another write, stale, its first cycle), or neither (the fallback served as it was).</summary>
    public static Activation ActivationOf(Entry served, FSharpValueOption<Entry> before)
    {
        if (!served.IsStale) return Activation.None;
        if (before.IsSome && served.Timestamp == before.Value.Timestamp && served.Origin == before.Value.Origin)
            return served.FailSafeCycles == before.Value.FailSafeCycles + 1 ? Activation.Stale : Activation.None;
        return served.FailSafeCycles == 1 ? Activation.Default : Activation.None;
    }

    /// <summary>Fail-safe served <paramref name="activated"/> after <paramref name="cause"/>: counted, marked on the
    /// current span, and logged with how old the value is, how long it had been stale (<paramref name="before"/>: the
    /// entry it was activated from), and the cycle.</summary>
    public void FailSafeActivated(string key, Activation kind, Entry activated, FSharpValueOption<Entry> before, Err cause, long now)
    {
        if (kind == Activation.None) return;
        if (Telemetry.FailSafeActivations.Enabled) Telemetry.FailSafeActivations.Add(1, _nameTag);
        var isDefault = kind == Activation.Default;
        OwnSpan()?.AddEvent(new ActivityEvent("fusion.fail_safe.activated",
            tags: new ActivityTagsCollection { ["fusion.cache.fail_safe.cycle"] = activated.FailSafeCycles, ["fusion.cache.fail_safe.default"] = isDefault }));
        var level = LevelNow(_activations, Levels.FailSafeActivation, now, out var aggregated);
        if (level == LogLevel.None || !Logger.IsEnabled(level)) return;
        if (isDefault)
        {
            Log.FailSafeDefaultServed(Logger, level, LogText.Of(key), LogText.Of(cause.Message), aggregated);
            return;
        }
        var age = TimeSpan.FromTicks(Math.Max(0, now - activated.Timestamp));
        var staleFor = TimeSpan.FromTicks(Math.Max(0, now - before.Value.LogicalExpiry));
        Log.FailSafeActivated(Logger, level, LogText.Of(key), age, staleFor, activated.FailSafeCycles, LogText.Of(cause.Message), aggregated);
    }
}

/// <summary>What a failure's fallback is (<see cref="CacheDiagnostics.ActivationOf"/>).</summary>
internal enum Activation { None, Stale, Default }

/// <summary>One factory run as observed: its span (null when not traced), the activity to make current again once
/// the factory has been invoked, and its start (0 when not timed).</summary>
internal readonly struct FactoryWatch(Activity? span, Activity? previous, long started)
{
    public Activity? Span => span;
    public long Started => started;

    /// <summary>The factory has been invoked: what runs next on this thread is the flight's again, not the factory's.</summary>
    public void Detach()
    {
        if (span is not null) Activity.Current = previous;
    }
}
