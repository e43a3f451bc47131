namespace Fusion.Core

/// An invalidation of a tag, or of the whole cache (SEMANTICS §4b): every entry written before the mark
/// (`Order`: timestamp, then origin) is absent (`Removed`) or stale (`Staled`, with `allowFailSafe`: still
/// a fallback). Lazy: nothing is scanned; readers compare an entry's write with its tags' marks. A class,
/// so that the runtime swaps a tag's marks with one reference write and a reader never sees half of them.
[<NoComparison; ReferenceEquality>]
type internal Invalidation =
    { /// Entries written before (RemovedAt, RemovedBy) are absent. 0, 0: none.
      RemovedAt: int64
      RemovedBy: int64
      /// Entries written before (StaledAt, StaledBy) are stale. 0, 0: none.
      StaledAt: int64
      StaledBy: int64
      /// The instant from which those entries are stale: the invalidating node's now (its stamp may be a
      /// little ahead of it), so a read right after the call already finds them stale.
      StaleFrom: int64 }

module internal Invalidation =
    /// No invalidation.
    let none: Invalidation = { RemovedAt = 0L; RemovedBy = 0L; StaledAt = 0L; StaledBy = 0L; StaleFrom = 0L }

    /// An invalidation made at `now`, stamped `timestamp` by `origin`: a removal, or with `allowFailSafe` a staling.
    let at (now: int64) (timestamp: int64) (origin: int64) (allowFailSafe: bool) : Invalidation =
        if allowFailSafe then { none with StaledAt = timestamp; StaledBy = origin; StaleFrom = now }
        else { none with RemovedAt = timestamp; RemovedBy = origin }

    /// Both invalidations: the later mark of each kind. Commutative and idempotent, so marks heard in any
    /// order, twice, from L2 and from the backplane, end the same.
    let merge (a: Invalidation) (b: Invalidation) : Invalidation =
        let removed = Order.after b.RemovedAt b.RemovedBy a.RemovedAt a.RemovedBy
        let staled = Order.after b.StaledAt b.StaledBy a.StaledAt a.StaledBy
        if not removed && not staled then a
        else
            { RemovedAt = (if removed then b.RemovedAt else a.RemovedAt)
              RemovedBy = (if removed then b.RemovedBy else a.RemovedBy)
              StaledAt = (if staled then b.StaledAt else a.StaledAt)
              StaledBy = (if staled then b.StaledBy else a.StaledBy)
              StaleFrom = (if staled then b.StaleFrom else a.StaleFrom) }

    /// Whether an entry written at (timestamp, origin) is removed, or staled, by `inv`.
    let removes (inv: Invalidation) (timestamp: int64) (origin: int64) : bool =
        Order.after inv.RemovedAt inv.RemovedBy timestamp origin

    let stales (inv: Invalidation) (timestamp: int64) (origin: int64) : bool =
        Order.after inv.StaledAt inv.StaledBy timestamp origin

module internal InvalidationLife =
    /// Whether `inv` can be forgotten at `now`: no entry it covers can still be alive, every entry with a tag
    /// having lived at most `longestLifetime` (from its write to its physical expiry). Marks must not grow
    /// without bound with the number of tags ever invalidated.
    let outlived (now: int64) (longestLifetime: int64) (inv: Invalidation) : bool =
        longestLifetime < Ticks.Never && Ticks.add (max inv.RemovedAt inv.StaledAt) longestLifetime < now

    /// How long an entry written at `writtenAt` lives, to its `physicalExpiry` (`Ticks.Never` for ever).
    let lifetime (writtenAt: int64) (physicalExpiry: int64) : int64 =
        if physicalExpiry = Ticks.Never then Ticks.Never else max 0L (physicalExpiry - writtenAt)

    /// How long an invalidation mark is kept in L2 when the longest lifetime its node has written is
    /// `longestLifetime`: past every entry it may cover (a minute's margin for clock skew), at least an
    /// hour, at most a year (an entry that lives for ever keeps the mark that long).
    let markLifetime (longestLifetime: int64) : int64 =
        let year = System.TimeSpan.FromDays(365.0).Ticks
        max (System.TimeSpan.FromHours(1.0).Ticks) (min year (Ticks.add longestLifetime (System.TimeSpan.FromMinutes(1.0).Ticks)))

/// How readers see entries under the invalidations (SEMANTICS §4b).
module internal Tagged =
    /// The tags of an entry without any: shared, so an untagged entry allocates none.
    let untagged: string[] = [||]

    /// Whether `e` needs a look at the invalidations at all: it has tags, or the cache was cleared.
    /// The hit path asks this first: an untagged entry of a never-cleared cache costs one comparison.
    /// (An entry with neither tags nor a validator shares `EntryMeta.none`: one reference comparison, as cheap as the
    /// tags' length was when the entry held its tags itself.)
    let inline concerned (clear: Invalidation) (e: Entry) : bool =
        let meta = e.Meta
        (not (obj.ReferenceEquals(meta, EntryMeta.none)) && meta.Tags.Length > 0) || not (obj.ReferenceEquals(clear, Invalidation.none))

    /// `e` as readers see it under the cache-wide invalidation `clear` and its tags' (`ofTag`, which
    /// answers `Invalidation.none` for a tag never invalidated): absent when written before a removal;
    /// stale (its logical expiry brought down to the staling, no eager refresh) when written before a
    /// staling; else `e` itself (no allocation).
    let view (clear: Invalidation) (ofTag: string -> Invalidation) (e: Entry) : Entry voption =
        let mutable removed = Invalidation.removes clear e.Timestamp e.Origin
        let mutable staledAt = if Invalidation.stales clear e.Timestamp e.Origin then clear.StaleFrom else Ticks.Never
        let mutable i = 0
        while not removed && i < e.Tags.Length do
            let inv = ofTag e.Tags[i]
            if Invalidation.removes inv e.Timestamp e.Origin then removed <- true
            elif Invalidation.stales inv e.Timestamp e.Origin then staledAt <- min staledAt inv.StaleFrom
            i <- i + 1
        if removed then ValueNone
        // A value already served by fail-safe (`IsStale`, re-stored by an activation after the staling) is
        // stale for every reader that did not ask for stale values; staling it again would undo its throttle.
        elif not e.IsStale && staledAt < e.LogicalExpiry then ValueSome { e with LogicalExpiry = staledAt; EagerRefreshAt = Ticks.Never }
        else ValueSome e
