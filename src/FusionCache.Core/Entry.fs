namespace Fusion.Core

/// One cached value and its clock (SEMANTICS §1). Instants are UTC ticks; `EagerRefreshAt` is
/// `Ticks.Never` when there is no eager refresh. Compared by reference: two entries are the same
/// only if they are the same write, which is what compare-and-remove needs.
[<ReferenceEquality>]
type Entry =
    { /// The value, boxed: one key may be read as any type, and a wrong type is an error, not a cast.
      Value: obj
      /// When the value was produced: a factory result carries the instant its flight began, so a
      /// value read before a concurrent write never passes for newer than it.
      Timestamp: int64
      /// The node's write sequence when the value was produced: orders writes within one clock
      /// tick (a coarse or fake clock), so a read begun before a `Set` loses to it even then.
      Sequence: int64
      LogicalExpiry: int64
      PhysicalExpiry: int64
      EagerRefreshAt: int64
      /// True while the value is being served by fail-safe.
      IsStale: bool
      /// Fail-safe activations since the last factory success.
      FailSafeCycles: int }

/// The state of an entry at an instant: a pure function of the entry and `now`.
/// A struct union of fieldless cases, so classifying a hit allocates nothing.
[<Struct>]
type Freshness =
    /// Return it; the factory is not called.
    | Fresh
    /// Return it and start at most one background refresh.
    | RefreshDue
    /// Not returned by itself: the fallback for fail-safe and soft timeouts.
    | Stale
    /// Treated as absent.
    | Dead

module Entry =
    /// The state of `e` at `now` (SEMANTICS §1 table).
    let classify (now: int64) (e: Entry) : Freshness =
        if now >= e.PhysicalExpiry then Dead
        elif now >= e.LogicalExpiry then Stale
        elif now >= e.EagerRefreshAt then RefreshDue
        else Fresh

    /// Whether a read-only lookup (`TryGet`, which never runs a factory) may return `e`: a valid value,
    /// or a stale one (a value served by fail-safe included) only with `allowStale`; never a Dead one.
    let readableWithoutFactory (allowStale: bool) (now: int64) (e: Entry) : bool =
        match classify now e with
        | Dead -> false
        | Stale -> allowStale
        | Fresh | RefreshDue -> allowStale || not e.IsStale

    /// The state of `e` for a reader: a value being served by fail-safe (`IsStale`) counts as Stale
    /// for a reader without fail-safe, which must never get a stale value (invariant 3).
    let classifyFor (failSafe: bool) (now: int64) (e: Entry) : Freshness =
        match classify now e with
        | Fresh
        | RefreshDue when e.IsStale && not failSafe -> Stale
        | state -> state

    /// Whether `classifyFor failSafe now e` is `Fresh`, as a few comparisons the JIT can inline into the
    /// hit path (the full classification is a call; this is the common answer).
    let isFreshFor (failSafe: bool) (now: int64) (e: Entry) : bool =
        now < e.EagerRefreshAt && now < e.LogicalExpiry && now < e.PhysicalExpiry && (failSafe || not e.IsStale)
