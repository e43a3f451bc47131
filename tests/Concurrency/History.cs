using System.Collections.Concurrent;
using System.Diagnostics;

namespace Fusion.Tests.Concurrency;

/// <summary>
/// A cached value with an identity: <see cref="Id"/> is the position at which it was born (the start of the
/// factory run that produced it, or the start of the <c>Set</c> call that wrote it), so it is unique.
/// </summary>
internal sealed record Val(string Key, long Id)
{
    /// <summary>The id of a fail-safe default value (given by a caller; always allowed).</summary>
    public const long DefaultId = -1;

    public static Val Default(string key) => new(key, DefaultId);

    public bool IsDefault => Id == DefaultId;

    public override string ToString() => IsDefault ? $"{Key}#default" : $"{Key}#{Id}";
}

internal enum OpKind { GetOrSet, Set, Remove, Expire, TryGet }

/// <summary>The options one call used (what the checks need to judge it).</summary>
internal sealed record CallOptions(
    TimeSpan Duration,
    bool FailSafe = false,
    TimeSpan? SoftTimeout = null,
    TimeSpan? HardTimeout = null,
    bool BackgroundCompletion = true,
    double? EagerRefresh = null,
    bool FailSafeDefault = false,
    int? CancelAfterMs = null,
    string Factory = "",
    bool SkipMemoryRead = false,
    bool SkipMemoryWrite = false)
{
    public override string ToString()
    {
        var parts = new List<string> { $"d={Duration.TotalMilliseconds}ms" };
        if (FailSafe) parts.Add("failsafe");
        if (SoftTimeout is { } s) parts.Add($"soft={s.TotalMilliseconds}ms");
        if (HardTimeout is { } h) parts.Add($"hard={h.TotalMilliseconds}ms");
        if (!BackgroundCompletion) parts.Add("no-bg-completion");
        if (EagerRefresh is { } e) parts.Add($"eager={e}");
        if (FailSafeDefault) parts.Add("default");
        if (CancelAfterMs is { } c) parts.Add($"cancel={c}ms");
        if (Factory.Length > 0) parts.Add($"factory={Factory}");
        if (SkipMemoryRead) parts.Add("skip-l1-read");
        if (SkipMemoryWrite) parts.Add("skip-l1-write");
        return string.Join(',', parts);
    }
}

/// <summary>
/// One call as it ended. <see cref="Id"/> is its start position. Times are real time since the run began.
/// A call that never returned has <see cref="Returned"/> false and <see cref="End"/> = <see cref="long.MaxValue"/>.
/// </summary>
internal sealed record Call(
    long Id, OpKind Kind, string Key, CallOptions Options,
    long Start, long End, TimeSpan StartTime, TimeSpan EndTime,
    Val? Value = null, Err? Error = null, string? Thrown = null, Val? Written = null, bool Returned = true)
{
    public bool IsWrite => Kind is OpKind.Set or OpKind.Remove or OpKind.Expire;

    public bool IsRead => Kind is OpKind.GetOrSet or OpKind.TryGet;

    /// <summary>Whether the caller allowed a stale value (a TryGet never does here: no AllowStaleOnReadOnly).</summary>
    public bool AllowsStale => Kind == OpKind.GetOrSet && Options.FailSafe;

    public override string ToString()
    {
        var result = Thrown is not null ? $"threw {Thrown}"
            : Error is not null ? $"Left({Error.GetType().Name}: {Error.Message})"
            : Value is not null ? $"{Value}"
            : Kind == OpKind.Set ? $"wrote {Written}"
            : Returned ? "none" : "never returned";
        return $"call {Id} {Kind}({Key}) [{Start}..{(Returned ? End.ToString() : "?")}] " +
               $"t={StartTime.TotalMilliseconds:F0}+{(EndTime - StartTime).TotalMilliseconds:F0}ms {{{Options}}} -> {result}";
    }
}

/// <summary>
/// One factory invocation. <see cref="Leader"/> is the call whose execution context ran it (0 when unknown).
/// <see cref="End"/> is when its task completed, whoever still waited; <see cref="CancelledAt"/> the position at
/// which its token was cancelled, if it was.
/// </summary>
internal sealed record FactoryRun(
    string Key, long Leader, long Start, long End, TimeSpan StartTime, TimeSpan EndTime,
    string Behaviour, long? CancelledAt = null, Val? Produced = null)
{
    public override string ToString() =>
        $"factory {Start} ({Behaviour}) of {Key} led by call {Leader} [{Start}..{(End == long.MaxValue ? "running" : End.ToString())}]" +
        (CancelledAt is { } c ? $" cancelled at {c}" : "");
}

/// <summary>Where and when a value was born, and the lifetime it was written with.</summary>
internal sealed record Birth(long Id, bool FromSet, long Start, long End, TimeSpan EndTime, TimeSpan Duration, string What);

/// <summary>A finished run: every call, every factory run, and what was seen around them.</summary>
internal sealed class History
{
    public History(
        IEnumerable<Call> calls, IEnumerable<FactoryRun> factories,
        IEnumerable<string>? unobserved = null, int inFlightAtEnd = 0, TimeSpan? maxDuration = null, IEnumerable<Stall>? stalls = null)
    {
        Stalls = stalls?.ToList() ?? [];
        Calls = calls.OrderBy(c => c.Start).ToList();
        Factories = factories.OrderBy(f => f.Start).ToList();
        Unobserved = unobserved?.ToList() ?? [];
        InFlightAtEnd = inFlightAtEnd;
        MaxDuration = maxDuration ?? (Calls.Count == 0 ? TimeSpan.Zero : Calls.Max(c => c.Options.Duration));
        CallsById = Calls.ToDictionary(c => c.Id);
        var births = new Dictionary<long, Birth>();
        foreach (var c in Calls.Where(c => c.Kind == OpKind.Set && c.Written is not null))
            births[c.Written!.Id] = new Birth(c.Written.Id, true, c.Start, c.End, c.EndTime, c.Options.Duration, c.ToString());
        foreach (var f in Factories.Where(f => f.Produced is not null))
        {
            // The entry is written with the options of the call that led the flight; unknown: the longest.
            var duration = CallsById.TryGetValue(f.Leader, out var leader) ? leader.Options.Duration : MaxDuration;
            births[f.Produced!.Id] = new Birth(f.Produced.Id, false, f.Start, f.End, f.EndTime, duration, f.ToString());
        }
        Births = births;
    }

    public IReadOnlyList<Call> Calls { get; }
    public IReadOnlyList<FactoryRun> Factories { get; }
    public IReadOnlyList<string> Unobserved { get; }
    public int InFlightAtEnd { get; }
    public TimeSpan MaxDuration { get; }
    public IReadOnlyDictionary<long, Call> CallsById { get; }
    public IReadOnlyDictionary<long, Birth> Births { get; }
    public IReadOnlyList<Stall> Stalls { get; }

    /// <summary>How much of [<paramref name="from"/>, <paramref name="to"/>] the process spent stalled.</summary>
    public TimeSpan StalledWithin(TimeSpan from, TimeSpan to)
    {
        var total = TimeSpan.Zero;
        foreach (var s in Stalls)
        {
            var start = s.From > from ? s.From : from;
            var end = s.To < to ? s.To : to;
            if (end > start) total += end - start;
        }
        return total;
    }
}

/// <summary>
/// Records a run as it happens: one global counter gives every event a position (a total order consistent
/// with real time), a stopwatch gives real time.
/// </summary>
internal sealed class Recorder
{
    /// <summary>The call a worker is making; it flows into the factories the cache runs for it.</summary>
    public static readonly AsyncLocal<long> CurrentCall = new();

    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly ConcurrentDictionary<long, LiveCall> _calls = new();
    private readonly ConcurrentDictionary<long, LiveFactory> _factories = new();
    private long _position;
    private int _runningFactories;

    public long Next() => Interlocked.Increment(ref _position);

    public TimeSpan Now => _watch.Elapsed;

    public int RunningFactories => Volatile.Read(ref _runningFactories);

    public LiveCall BeginCall(OpKind kind, string key, CallOptions options)
    {
        var call = new LiveCall(this, kind, key, options, Next(), Now);
        _calls[call.Id] = call;
        return call;
    }

    public LiveFactory BeginFactory(string key, string behaviour, CancellationToken token)
    {
        Interlocked.Increment(ref _runningFactories);
        var run = new LiveFactory(this, key, CurrentCall.Value, behaviour, Next(), Now);
        _factories[run.Start] = run;
        if (token.CanBeCanceled) token.Register(static r => ((LiveFactory)r!).Cancelled(), run);
        return run;
    }

    public History Snapshot(IEnumerable<string> unobserved, int inFlightAtEnd, TimeSpan maxDuration, IEnumerable<Stall> stalls) =>
        new(_calls.Values.Select(c => c.ToCall()), _factories.Values.Select(f => f.ToRun()), unobserved, inFlightAtEnd, maxDuration, stalls);

    internal sealed class LiveCall(Recorder recorder, OpKind kind, string key, CallOptions options, long id, TimeSpan startTime)
    {
        private Call? _ended;

        public long Id => id;

        public void Ended(Val? value = null, Err? error = null, string? thrown = null, Val? written = null) =>
            Volatile.Write(ref _ended, new Call(id, kind, key, options, id, recorder.Next(), startTime, recorder.Now, value, error, thrown, written));

        public Call ToCall() => Volatile.Read(ref _ended)
            ?? new Call(id, kind, key, options, id, long.MaxValue, startTime, TimeSpan.MaxValue, Returned: false);
    }

    internal sealed class LiveFactory(Recorder recorder, string key, long leader, string behaviour, long start, TimeSpan startTime)
    {
        private long _end = long.MaxValue, _cancelledAt;
        private TimeSpan _endTime = TimeSpan.MaxValue;
        private Val? _produced;

        public long Start => start;

        /// <summary>The value this run produces if it succeeds: born at its start.</summary>
        public Val Value { get; } = new(key, start);

        public void Cancelled() => Interlocked.CompareExchange(ref _cancelledAt, recorder.Next(), 0);

        public void Ended(bool produced)
        {
            if (produced) _produced = Value;
            _endTime = recorder.Now;
            Volatile.Write(ref _end, recorder.Next());
            Interlocked.Decrement(ref recorder._runningFactories);
        }

        public FactoryRun ToRun()
        {
            var end = Volatile.Read(ref _end);
            var cancelled = Volatile.Read(ref _cancelledAt);
            return new FactoryRun(key, leader, start, end, startTime, _endTime, behaviour, cancelled == 0 ? null : cancelled, _produced);
        }
    }
}
