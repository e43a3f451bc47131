namespace Fusion.Core

/// The effects of a write that does not go through a flight: L1, L2 and the other nodes.
[<Struct; NoComparison; NoEquality>]
type internal Effects =
    { Change: L1Change
      Distributed: L2Change
      Notify: Remote voption }

/// The decisions of `Set`, `Remove` and `Expire` (SEMANTICS §3, other operations).
module internal Commands =
    // Inline and a struct tuple: a command on a cache without L2 allocates nothing for L2 or notices.
    let inline private reach (o: EntryOptions) (hasDistributed: bool) ([<InlineIfLambda>] l2: unit -> L2Change) ([<InlineIfLambda>] notice: unit -> Remote) =
        struct ((if hasDistributed && not o.SkipDistributedCacheWrite then l2 () else L2Change.Keep),
                (if hasDistributed && not o.SkipBackplaneNotifications then ValueSome(notice ()) else ValueNone))

    /// Write a fresh value at `now`; `timestamp` and `origin` order the write (`Order`). With
    /// SkipMemoryCacheWrite, L1 only loses its older copy.
    let set (o: EntryOptions) (now: int64) (timestamp: int64) (jitter: int64) (origin: int64) (hasDistributed: bool) (value: obj) : Effects =
        let struct (l2, notify) =
            reach o hasDistributed
                (fun () -> L2Change.Put(Lifecycle.writtenDistributed o now jitter timestamp origin value))
                (fun () -> Remote.Set(timestamp, origin))
        { Change = Flight.storedBy o (L1Change.Put(Lifecycle.written o now jitter timestamp origin value)); Distributed = l2; Notify = notify }

    /// Delete the key everywhere. A flight running for the key here is superseded by the write
    /// (`Work.supersedes`), so its older result cannot bring the value back: L1 keeps nothing.
    let remove (o: EntryOptions) (timestamp: int64) (origin: int64) (hasDistributed: bool) : Effects =
        let struct (l2, notify) = reach o hasDistributed (fun () -> L2Change.Remove(timestamp, origin)) (fun () -> Remote.Remove(timestamp, origin))
        { Change = L1Change.Drop; Distributed = l2; Notify = notify }

    /// Make the key stale everywhere: here and in L2 as of `now` (so the next read, here or from L2,
    /// finds it stale), on other nodes as of their own now; every copy written up to `timestamp` by `origin`.
    let expire (o: EntryOptions) (now: int64) (timestamp: int64) (origin: int64) (hasDistributed: bool) : Effects =
        let struct (l2, notify) = reach o hasDistributed (fun () -> L2Change.Expire(timestamp, origin, now)) (fun () -> Remote.Expire(timestamp, origin))
        { Change = L1Change.ExpireAt now; Distributed = l2; Notify = notify }

/// A circuit breaker for L2: after an error, L2 is skipped until `OpenUntil`.
module internal CircuitBreaker =
    /// The instant until which L2 is skipped after an error at `now`, or `closedUntil` when the
    /// breaker is off (a zero duration).
    let openUntil (now: int64) (breakDuration: System.TimeSpan) (closedUntil: int64) : int64 =
        if breakDuration <= System.TimeSpan.Zero then closedUntil else Ticks.add now breakDuration.Ticks

    /// Whether L2 is skipped at `now`.
    let isOpen (now: int64) (openUntil: int64) : bool = now < openUntil
