namespace Fusion.Core

/// What a source said about a value, for a conditional refresh (SEMANTICS §4b): its ETag and when it was last
/// modified (UTC ticks; 0 for none). The next factory run of the key is given them, and may answer "not modified".
[<Struct; NoComparison; NoEquality>]
type Validator =
    { /// The source's entity tag; null for none (never empty).
      ETag: string | null
      /// When the source says the value last changed, UTC ticks; 0 for none.
      LastModified: int64 }

module Validator =
    /// No validator.
    let none: Validator = { ETag = null; LastModified = 0L }

    /// Whether `v` says anything.
    let isSome (v: Validator) : bool = not (isNull v.ETag) || v.LastModified <> 0L

    /// The validator of a "not modified" answer: what the factory said now, else what the kept value had.
    let renew (kept: Validator) (said: Validator) : Validator =
        { ETag = (if isNull said.ETag then kept.ETag else said.ETag)
          LastModified = (if said.LastModified = 0L then kept.LastModified else said.LastModified) }

/// What an entry carries besides its value and clock: its tags and its validator. One object, shared by every
/// entry that has neither (`EntryMeta.none`), so a plain entry pays one reference for both.
[<NoComparison; ReferenceEquality>]
type EntryMeta =
    { /// The tags the entry was written with (`Tagged.untagged`, the empty array, for none; never null).
      Tags: string[]
      /// The source's validator for the value (`Validator.none` for none).
      Validator: Validator }

module EntryMeta =
    /// Neither tags nor a validator.
    let none: EntryMeta = { Tags = [||]; Validator = Validator.none }

    /// The metadata of an entry with `tags` (never null) and `validator`: the shared `none` when both are empty.
    let ofParts (tags: string[]) (validator: Validator) : EntryMeta =
        if tags.Length = 0 && not (Validator.isSome validator) then none else { Tags = tags; Validator = validator }

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
      /// The node that made the write (a non-negative id, `Order.originOf` its instance id): breaks
      /// ties between writes of different nodes stamped in the same tick. A node's own stamps never
      /// repeat, so (Timestamp, Origin) orders every write, everywhere the same (`Order`).
      Origin: int64
      LogicalExpiry: int64
      PhysicalExpiry: int64
      EagerRefreshAt: int64
      /// True while the value is being served by fail-safe.
      IsStale: bool
      /// Fail-safe activations since the last factory success.
      FailSafeCycles: int
      /// Its tags and validator (`EntryMeta.none` for neither, never null).
      Meta: EntryMeta }

    /// The tags the entry was written with (empty for none, never null): a `RemoveByTag` of one of them, or a
    /// `Clear`, made after the write makes it absent or stale (`Tagged.view`).
    member e.Tags: string[] = e.Meta.Tags

    /// What the source said about the value (conditional refresh); `Validator.none` for nothing.
    member e.Validator: Validator = e.Meta.Validator

/// The order of writes, the same in L1, in a node's decision on a notification and in L2's write guard
/// (SEMANTICS §4): by timestamp, then by origin. Nodes that saw the same writes keep the same one.
module Order =
    /// Whether the write (ts1, o1) comes after (ts2, o2).
    let inline after (ts1: int64) (o1: int64) (ts2: int64) (o2: int64) : bool =
        ts1 > ts2 || (ts1 = ts2 && o1 > o2)

    /// Whether the write (ts1, o1) comes after (ts2, o2) or is the same write.
    let inline notBefore (ts1: int64) (o1: int64) (ts2: int64) (o2: int64) : bool =
        ts1 > ts2 || (ts1 = ts2 && o1 >= o2)

    /// A node's origin from its instance id: the id's first 8 bytes with the sign bit cleared, so that
    /// signed comparison here and Redis's byte-wise big-endian comparison agree.
    let originOf (instanceId: System.Guid) : int64 =
        let bytes = instanceId.ToByteArray()
        System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(System.ReadOnlySpan bytes) &&& System.Int64.MaxValue

    /// The latest timestamp another node's write may carry when this node's clock reads `now`, with
    /// `maxSkew` ticks of clock skew allowed between nodes (SEMANTICS §4).
    let latestPlausible (now: int64) (maxSkew: int64) : int64 = Ticks.add now maxSkew

    /// Whether a timestamp from another node (a notification, an L2 entry) is one this node may follow:
    /// not negative, not beyond the skew bound. One forged or corrupt stamp further ahead would pin its
    /// key (every later write older than it) and move this node's clock: it is malformed instead.
    let plausible (now: int64) (maxSkew: int64) (timestamp: int64) : bool =
        timestamp >= 0L && timestamp <= latestPlausible now maxSkew

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

    /// Whether `e` has a deadline (eager refresh, logical or physical expiry) less than `window` after `now`:
    /// a reading of a clock that may lag by up to `window` cannot classify `e` alone, so the shell reads
    /// its precise clock (invariant 1 near the deadline, the cheap clock everywhere else).
    let nearDeadline (now: int64) (window: int64) (e: Entry) : bool =
        min e.EagerRefreshAt (min e.LogicalExpiry e.PhysicalExpiry) - now < window

    /// Whether `classifyFor failSafe now e` is `Fresh`, as a few comparisons the JIT can inline into the
    /// hit path (the full classification is a call; this is the common answer).
    let isFreshFor (failSafe: bool) (now: int64) (e: Entry) : bool =
        now < e.EagerRefreshAt && now < e.LogicalExpiry && now < e.PhysicalExpiry && (failSafe || not e.IsStale)
