namespace Fusion.Core

/// A write to a key, as the key's work in progress sees it.
[<Struct; NoComparison; NoEquality>]
type internal Write =
    /// A `Set`, `Remove` or `Expire` made on this node.
    | Local
    /// A write another node made at `Timestamp` (a notification, or L2 refusing this node's write
    /// because it holds that one).
    | Remote of Timestamp: int64 * Origin: int64

/// The work in progress of a key (SEMANTICS §3.6): which flight callers join, which results may land,
/// and what a write does to a flight already running. The shell keeps one flight per key in its table
/// and asks these questions under the key's L1 lock, so a write and a landing never interleave.
///
/// The record that a newer write happened lives on the flight it superseded, not in L1: reads,
/// eviction and expiry touch only L1, so none of them can erase it while the older result may land.
module internal Work =
    /// Whether `write` supersedes a flight of this node (`self`) that began at `startedAt` (its result's
    /// timestamp; 0 while its leader has not stamped it yet). A local write always does: it is this
    /// node's newest write, and a flight that overlaps it may have read the source before it. A remote
    /// write does when it comes after the flight's result in the order of writes (`Order`); an older
    /// one is already older than the flight's result.
    let supersedes (self: int64) (startedAt: int64) (write: Write) : bool =
        match write with
        | Write.Local -> true
        | Write.Remote(ts, origin) -> Order.after ts origin startedAt self

    /// Whether a caller arriving now may join a flight. A superseded flight is not the key's any more
    /// (callers after the write start afresh); an abandoned one had its factory cancelled.
    let mayJoin (superseded: bool) (abandoned: bool) : bool = not superseded && not abandoned

    /// Whether a caller may join a flight that began at `startedAt` (0: not stamped yet, so it begins after)
    /// when the latest `Clear` or `RemoveByTag` known here was stamped `latestInvalidation`: not if the
    /// flight began before it, since it may have read the source before it and the caller came after it.
    /// (Which keys an invalidation covers is known only from the result's tags: every flight that overlaps
    /// one is passed over, which costs a factory run, never a stale answer.)
    let mayJoinAfterInvalidation (startedAt: int64) (latestInvalidation: int64) : bool =
        startedAt = 0L || startedAt > latestInvalidation

    /// Whether a flight's result (and anything its callers derive from it, like a fail-safe
    /// activation) may change L1, L2 or tell other nodes. Only the key's current flight lands: a
    /// superseded one answers its own waiters only (invariants 8 and 11); an abandoned one's factory was
    /// cancelled, so a late success is not a background completion the options allowed.
    let mayLand (superseded: bool) (abandoned: bool) : bool = not superseded && not abandoned

    /// Whether a read that is not a flight (`TryGet` reading L2) may copy what it read into L1: only if
    /// no write to the key (or to a key sharing its lock) happened since the read began, as counted by
    /// the lock's write epoch. A skipped copy costs one more L2 read; a wrong one would resurrect a
    /// removed or expired value.
    let mayFill (epochWhenReadBegan: int64) (epochNow: int64) : bool = epochWhenReadBegan = epochNow
