namespace Fusion.Tests.Concurrency;

/// <summary>
/// The rules a recorded <see cref="History"/> must satisfy (SEMANTICS.md §3.6, invariants 10–12). Each check is a
/// pure function of the history and returns readable violations. Where the contract allows more than one
/// outcome the checks accept all of them: a check may miss a bug, it must never flag a legitimate history.
/// </summary>
internal static class HistoryChecks
{
    /// <summary>The least slack past a value's logical expiry before a caller without fail-safe may not get it:
    /// the cache's clock is a ticker that may lag real time on a loaded machine, and a factory's result is
    /// stored a little after its task completed.</summary>
    public static readonly TimeSpan StaleSlackFloor = TimeSpan.FromMilliseconds(300);

    /// <summary>How much longer than its own hard timeout (or its token's delay) a caller may take to return.</summary>
    public static readonly TimeSpan WaitSlack = TimeSpan.FromSeconds(1.5);

    public const string Escaped = "nothing escaped";
    public const string NoOlderValue = "inv 11: no older value after a completed write";
    public const string OneFactory = "inv 10: one factory per key unless superseded";
    public const string NoStale = "inv 12/3: no stale value without fail-safe";
    public const string OwnTimeout = "inv 12: the caller's own hard timeout bounds its wait";

    /// <summary>Every check, by rule name (rules without violations included).</summary>
    public static IReadOnlyList<(string Rule, IReadOnlyList<string> Violations)> All(History h) =>
    [
        (Escaped, NothingEscaped(h)),
        (NoOlderValue, NoOlderValueAfterWrite(h)),
        (OneFactory, OneFactoryPerKey(h)),
        (NoStale, NoStaleWithoutFailSafe(h)),
        (OwnTimeout, OwnWaitBound(h)),
    ];

    /// <summary>Every call returned normally, no <c>Left(WrongType)</c> (an internal marker under the key),
    /// every value is one this run produced for that key, no unobserved task exception, every factory
    /// ended and the flight table is empty.</summary>
    public static IReadOnlyList<string> NothingEscaped(History h)
    {
        var found = new List<string>();
        foreach (var c in h.Calls)
        {
            if (!c.Returned) found.Add($"never returned: {c}");
            else if (c.Thrown is not null) found.Add($"threw: {c}");
            else if (c.Error is Err.WrongType) found.Add($"wrong type (an internal object under the key): {c}");
            else if (c.Value is { } v && (v.Key != c.Key || (!v.IsDefault && !h.Births.ContainsKey(v.Id))))
                found.Add($"a value this run never produced for the key: {c}");
        }
        found.AddRange(h.Factories.Where(f => f.End == long.MaxValue).Select(f => $"still running after the drain: {f}"));
        found.AddRange(h.Unobserved.Select(e => $"unobserved task exception: {e}"));
        if (h.InFlightAtEnd != 0) found.Add($"flight table not empty at the end: {h.InFlightAtEnd} flight(s) (a key stuck)");
        return found;
    }

    /// <summary>
    /// Invariant 11. For a read R returning v and a write W of the key that completed before R began: after
    /// <c>Set(x)</c>, v is x or not definitely older than W; after <c>Remove</c>, v is not definitely older;
    /// after <c>Expire</c>, the same for a reader without fail-safe (one with fail-safe may get the expired
    /// value as its fallback).
    /// </summary>
    public static IReadOnlyList<string> NoOlderValueAfterWrite(History h)
    {
        var found = new List<string>();
        var writes = h.Calls.Where(c => c.IsWrite && c.Returned && c.Thrown is null).ToLookup(c => c.Key);
        foreach (var r in h.Calls.Where(c => c.IsRead && c.Returned && c.Value is { IsDefault: false }))
        {
            var v = r.Value!;
            if (!h.Births.TryGetValue(v.Id, out var birth)) continue; // reported by NothingEscaped
            foreach (var w in writes[r.Key])
            {
                if (w.End >= r.Start || !DefinitelyOlder(birth, w)) continue;
                var broken = w.Kind switch
                {
                    OpKind.Set => w.Written != v,
                    OpKind.Remove => true,
                    OpKind.Expire => !r.AllowsStale,
                    _ => false,
                };
                if (!broken) continue;
                found.Add($"{r} got a value born before {w} completed; the value: {birth.What}");
                break; // one write is enough to show the read is wrong
            }
        }
        return found;
    }

    /// <summary>A value is definitely older than a write when its factory started before the write did, or
    /// its Set call ended before the write started (overlapping writes may be ordered either way).</summary>
    public static bool DefinitelyOlder(Birth birth, Call write) =>
        birth.FromSet ? birth.End < write.Start : birth.Start < write.Start;

    /// <summary>
    /// Invariant 10. A factory run B of a key may start while another run A of that key is running only when
    /// one of the two was superseded: a write W of the key started before B and ended after the earlier of
    /// the two leader calls began (B's flight may have been registered, then superseded, before A's, and
    /// its factory invoked late: an eager refresh is queued to the thread pool), or A's token was cancelled (A was abandoned,
    /// or timed out without background completion).
    /// </summary>
    public static IReadOnlyList<string> OneFactoryPerKey(History h)
    {
        var found = new List<string>();
        var writes = h.Calls.Where(c => c.IsWrite).ToLookup(c => c.Key);
        foreach (var runs in h.Factories.GroupBy(f => f.Key))
        {
            var ordered = runs.OrderBy(f => f.Start).ToList();
            for (var i = 0; i < ordered.Count; i++)
            {
                var a = ordered[i];
                // Unknown leader: any earlier write may have superseded it.
                var leaderStart = h.CallsById.TryGetValue(a.Leader, out var leader) ? leader.Start : 0;
                for (var j = i + 1; j < ordered.Count && ordered[j].Start < a.End; j++)
                {
                    var b = ordered[j];
                    // Any cancellation of A's token counts, even one recorded just after B started: a runtime may
                    // let go of the flight a moment before it cancels the token.
                    if (a.CancelledAt is not null) continue;
                    var earliest = h.CallsById.TryGetValue(b.Leader, out var bLeader) ? Math.Min(leaderStart, bLeader.Start) : 0;
                    if (writes[a.Key].Any(w => w.Start < b.Start && w.End > earliest)) continue;
                    found.Add($"{b} started while {a} was running, with no write or cancellation in between" +
                              (leader is null ? "" : $"; A's leader: {leader}"));
                }
            }
        }
        return found;
    }

    /// <summary>
    /// Invariants 3 and 12: a caller without fail-safe (GetOrSet with fail-safe off, TryGet) never gets a value
    /// that had logically expired when it began: its start is later than the value's birth (the end of the
    /// factory or Set) plus its Duration plus a slack of max(Duration, <see cref="StaleSlackFloor"/>), not counting
    /// time the whole process was stalled.
    /// </summary>
    public static IReadOnlyList<string> NoStaleWithoutFailSafe(History h)
    {
        var found = new List<string>();
        foreach (var r in h.Calls.Where(c => c.IsRead && c.Returned && !c.AllowsStale && c.Value is { IsDefault: false }))
        {
            if (!h.Births.TryGetValue(r.Value!.Id, out var birth)) continue;
            var limit = birth.EndTime + birth.Duration + Max(birth.Duration, StaleSlackFloor);
            if (r.StartTime - h.StalledWithin(birth.EndTime, r.StartTime) > limit)
                found.Add($"{r} got a value {(r.StartTime - birth.EndTime).TotalMilliseconds:F0} ms after its birth " +
                          $"(Duration {birth.Duration.TotalMilliseconds} ms); the value: {birth.What}");
        }
        return found;
    }

    /// <summary>Invariant 12: a caller's own hard timeout (and its own token) bounds its own wait, within
    /// <see cref="WaitSlack"/>, not counting time the whole process was stalled.</summary>
    public static IReadOnlyList<string> OwnWaitBound(History h)
    {
        var found = new List<string>();
        foreach (var c in h.Calls.Where(c => c.Kind == OpKind.GetOrSet && c.Returned))
        {
            TimeSpan? bound = c.Options.HardTimeout;
            if (c.Options.CancelAfterMs is int ms && (bound is null || ms < bound.Value.TotalMilliseconds)) bound = TimeSpan.FromMilliseconds(ms);
            if (bound is not { } b) continue;
            var took = c.EndTime - c.StartTime;
            var stalled = h.StalledWithin(c.StartTime, c.EndTime);
            if (took - stalled > b + WaitSlack)
                found.Add($"{c} waited {took.TotalMilliseconds:F0} ms ({stalled.TotalMilliseconds:F0} ms of it stalled), " +
                          $"past its own bound of {b.TotalMilliseconds} ms");
        }
        return found;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
