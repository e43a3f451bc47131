namespace Fusion.Tests.Concurrency;

/// <summary>
/// The checks on hand-built histories: each rule flags the history that breaks it and accepts the legitimate
/// ones next to it (overlaps, fail-safe fallbacks, superseded flights), so no check is one that cannot fail.
/// Positions double as milliseconds of real time unless a test says otherwise.
/// </summary>
public sealed class HistoryChecksTests
{
    private const string K = "k";
    private static readonly TimeSpan D = TimeSpan.FromMilliseconds(50);

    private static TimeSpan Ms(long ms) => TimeSpan.FromMilliseconds(ms);

    private static Call Call(OpKind kind, long start, long end, Val? value = null, bool failSafe = false, Val? written = null,
        TimeSpan? startTime = null, TimeSpan? endTime = null, TimeSpan? hard = null, Err? error = null, string? thrown = null) =>
        new(start, kind, K, new CallOptions(D, FailSafe: failSafe, HardTimeout: hard), start, end,
            startTime ?? Ms(start), endTime ?? Ms(end), value, error, thrown, written);

    private static Call Set(long start, long end) => Call(OpKind.Set, start, end, written: new Val(K, start));

    private static Call Read(long start, long end, Val? value, bool failSafe = false) => Call(OpKind.GetOrSet, start, end, value, failSafe);

    private static FactoryRun Factory(long leader, long start, long end, bool produced = true, long? cancelledAt = null) =>
        new(K, leader, start, end, Ms(start), Ms(end), "test", cancelledAt, produced ? new Val(K, start) : null);

    private static History H(IEnumerable<Call> calls, IEnumerable<FactoryRun>? factories = null, IEnumerable<Stall>? stalls = null,
        IEnumerable<string>? unobserved = null, int inFlight = 0) =>
        new(calls, factories ?? [], unobserved, inFlight, stalls: stalls);

    // A flight: leader call 1 runs factory 2 (value k#2), which ends at 8.
    private static readonly Call Leader = Read(1, 9, new Val(K, 2));
    private static readonly FactoryRun Flight = Factory(leader: 1, start: 2, end: 8);

    [Fact]
    public void A_clean_history_passes_every_check()
    {
        var h = H([Leader, Read(3, 9, new Val(K, 2)), Set(10, 11), Read(12, 13, new Val(K, 10)), Call(OpKind.TryGet, 14, 15, new Val(K, 10))], [Flight]);
        Assert.All(HistoryChecks.All(h), r => Assert.Empty(r.Violations));
    }

    [Fact]
    public void Inv11_flags_a_value_older_than_a_completed_set()
    {
        var stale = H([Leader, Set(3, 4), Read(5, 6, new Val(K, 2))], [Flight]);
        Assert.Single(HistoryChecks.NoOlderValueAfterWrite(stale));
        // The set's own value, a read overlapping the set, and a value born after the set are all fine.
        Assert.Empty(HistoryChecks.NoOlderValueAfterWrite(H([Leader, Set(3, 4), Read(5, 6, new Val(K, 3))], [Flight])));
        Assert.Empty(HistoryChecks.NoOlderValueAfterWrite(H([Leader, Set(3, 5), Read(4, 6, new Val(K, 2))], [Flight])));
        Assert.Empty(HistoryChecks.NoOlderValueAfterWrite(
            H([Set(1, 2), Read(3, 9, new Val(K, 4)), Read(10, 11, new Val(K, 4))], [Factory(leader: 3, start: 4, end: 8)])));
    }

    [Fact]
    public void Inv11_orders_set_values_only_when_the_sets_did_not_overlap()
    {
        Assert.Single(HistoryChecks.NoOlderValueAfterWrite(H([Set(1, 2), Set(3, 4), Read(5, 6, new Val(K, 1))])));
        Assert.Empty(HistoryChecks.NoOlderValueAfterWrite(H([Set(1, 4), Set(2, 5), Read(6, 7, new Val(K, 1))])));
    }

    [Fact]
    public void Inv11_flags_a_removed_value()
    {
        Assert.Single(HistoryChecks.NoOlderValueAfterWrite(H([Leader, Call(OpKind.Remove, 3, 4), Read(5, 6, new Val(K, 2))], [Flight])));
        Assert.Single(HistoryChecks.NoOlderValueAfterWrite(
            H([Leader, Call(OpKind.Remove, 3, 4), Call(OpKind.TryGet, 5, 6, new Val(K, 2))], [Flight])));
        // A fail-safe default is always allowed.
        Assert.Empty(HistoryChecks.NoOlderValueAfterWrite(H([Leader, Call(OpKind.Remove, 3, 4), Read(5, 6, Val.Default(K), failSafe: true)], [Flight])));
    }

    [Fact]
    public void Inv11_lets_only_a_fail_safe_reader_have_the_expired_value()
    {
        Assert.Single(HistoryChecks.NoOlderValueAfterWrite(H([Leader, Call(OpKind.Expire, 3, 4), Read(5, 6, new Val(K, 2))], [Flight])));
        Assert.Empty(HistoryChecks.NoOlderValueAfterWrite(H([Leader, Call(OpKind.Expire, 3, 4), Read(5, 6, new Val(K, 2), failSafe: true)], [Flight])));
    }

    [Fact]
    public void Inv10_flags_a_second_factory_while_the_first_runs()
    {
        var second = Factory(leader: 4, start: 5, end: 6);
        Assert.Single(HistoryChecks.OneFactoryPerKey(H([Leader, Read(4, 7, new Val(K, 5))], [Flight, second])));
        // A write that ended before the first flight's leader began supersedes nothing.
        Assert.Single(HistoryChecks.OneFactoryPerKey(H([Set(-3, -2), Leader, Read(4, 7, new Val(K, 5))], [Flight, second])));
    }

    [Fact]
    public void Inv10_allows_a_second_factory_after_a_write_or_a_cancellation()
    {
        var second = Factory(leader: 4, start: 5, end: 6);
        Assert.Empty(HistoryChecks.OneFactoryPerKey(H([Leader, Call(OpKind.Remove, 3, 4), Read(4, 7, new Val(K, 5))], [Flight, second])));
        // The write may even have begun before the leader, as long as it was still going on.
        Assert.Empty(HistoryChecks.OneFactoryPerKey(H([Call(OpKind.Expire, 0, 3), Leader, Read(4, 7, new Val(K, 5))], [Flight, second])));
        Assert.Empty(HistoryChecks.OneFactoryPerKey(
            H([Leader, Read(4, 7, new Val(K, 5))], [Factory(leader: 1, start: 2, end: 8, cancelledAt: 3), second])));
        // Back to back is not overlapping.
        Assert.Empty(HistoryChecks.OneFactoryPerKey(H([Leader, Read(9, 12, new Val(K, 10))], [Flight, Factory(leader: 9, start: 10, end: 11)])));
    }

    [Fact]
    public void Inv12_flags_a_stale_value_for_a_caller_without_fail_safe()
    {
        // Set at 1..2 ms with a 50 ms Duration; a caller starting a second later may not get it without fail-safe.
        Assert.Single(HistoryChecks.NoStaleWithoutFailSafe(H([Set(1, 2), Call(OpKind.GetOrSet, 3, 4, new Val(K, 1), startTime: Ms(1000))])));
        Assert.Single(HistoryChecks.NoStaleWithoutFailSafe(H([Set(1, 2), Call(OpKind.TryGet, 3, 4, new Val(K, 1), startTime: Ms(1000))])));
        Assert.Empty(HistoryChecks.NoStaleWithoutFailSafe(H([Set(1, 2), Call(OpKind.GetOrSet, 3, 4, new Val(K, 1), failSafe: true, startTime: Ms(1000))])));
        // Within Duration plus the slack, or when the process was stalled meanwhile, it is not judged stale.
        Assert.Empty(HistoryChecks.NoStaleWithoutFailSafe(H([Set(1, 2), Call(OpKind.GetOrSet, 3, 4, new Val(K, 1), startTime: Ms(300))])));
        Assert.Empty(HistoryChecks.NoStaleWithoutFailSafe(
            H([Set(1, 2), Call(OpKind.GetOrSet, 3, 4, new Val(K, 1), startTime: Ms(1000))], stalls: [new Stall(Ms(100), Ms(900))])));
    }

    [Fact]
    public void Inv12_flags_a_caller_that_waited_past_its_own_hard_timeout()
    {
        Call Waited(long ms) => Call(OpKind.GetOrSet, 1, 2, error: Err.NewFactoryTimedOut(Ms(50)), startTime: Ms(0), endTime: Ms(ms), hard: Ms(50));
        Assert.Single(HistoryChecks.OwnWaitBound(H([Waited(3000)])));
        Assert.Empty(HistoryChecks.OwnWaitBound(H([Waited(120)])));
        Assert.Empty(HistoryChecks.OwnWaitBound(H([Waited(3000)], stalls: [new Stall(Ms(100), Ms(2900))])));
        // Without a hard timeout or a token, a caller may wait as long as the factory takes.
        Assert.Empty(HistoryChecks.OwnWaitBound(H([Call(OpKind.GetOrSet, 1, 2, startTime: Ms(0), endTime: Ms(3000))])));
    }

    [Fact]
    public void Nothing_escaped_flags_throws_wrong_types_strangers_and_leftovers()
    {
        Assert.Single(HistoryChecks.NothingEscaped(H([Call(OpKind.Set, 1, 2, written: new Val(K, 1), thrown: "ArgumentException: bad")])));
        Assert.Single(HistoryChecks.NothingEscaped(H([Read(1, 2, null) with { Error = Err.NewWrongType(K, "Val", "Object") }])));
        Assert.Single(HistoryChecks.NothingEscaped(H([Read(1, 2, new Val(K, 99))])));
        Assert.Single(HistoryChecks.NothingEscaped(H([Set(1, 2), Read(3, 4, new Val("other", 1))])));
        Assert.Single(HistoryChecks.NothingEscaped(H([Read(1, 2, null) with { Returned = false, End = long.MaxValue }])));
        Assert.Single(HistoryChecks.NothingEscaped(H([], [Factory(leader: 0, start: 1, end: 2) with { End = long.MaxValue, EndTime = TimeSpan.MaxValue }])));
        Assert.Single(HistoryChecks.NothingEscaped(H([], unobserved: ["WorkloadException: boom"])));
        Assert.Single(HistoryChecks.NothingEscaped(H([], inFlight: 1)));
        Assert.Empty(HistoryChecks.NothingEscaped(H([Read(1, 2, Val.Default(K), failSafe: true), Read(3, 4, null) with { Error = Err.Of("source down") }])));
    }
}
