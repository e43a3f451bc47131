namespace Fusion.Core

open System

/// What the shell does to L1 for one key. A struct: every write and every flight's result carries one, and as an
/// object it was 32 of the 336 bytes a miss allocated.
[<Struct; NoComparison; NoEquality>]
type internal L1Change =
    /// Leave L1 as it is.
    | Keep
    /// Store this entry (only if it supersedes what is there when the shell writes).
    | Put of Entry: Entry
    /// Delete the key.
    | Drop
    /// Run `Lifecycle.expire` at `At` on whatever entry L1 holds when the shell applies it.
    | ExpireAt of At: int64

/// What the shell does to L2 for one key. Every L2 change is guarded by its timestamp in Redis, so
/// a late or replayed change never undoes a newer one.
[<RequireQualifiedAccess; NoComparison; ReferenceEquality>]
type internal L2Change =
    | Keep
    /// Store this entry (its times are L2's: DistributedCacheDuration).
    | Put of Entry: Entry
    /// Delete the key, unless L2 holds a write after (`Timestamp`, `Origin`). L2 keeps a tombstone of the
    /// remove (at least `Lifecycle.TombstoneLifetime`, and as long as the value would have lived) so
    /// that an older write arriving late cannot bring the value back.
    | Remove of Timestamp: int64 * Origin: int64
    /// Make the key stale: its logical expiry becomes `At` (the expiring node's now, never later: an
    /// acknowledged Expire leaves nothing fresh), unless L2 holds a write after (`Timestamp`, `Origin`).
    | Expire of Timestamp: int64 * Origin: int64 * At: int64

/// A notification about a key between nodes (the backplane's messages).
[<RequireQualifiedAccess; NoComparison; ReferenceEquality>]
type internal Remote =
    /// A newer value was written at `Timestamp` by the node `Origin`.
    | Set of Timestamp: int64 * Origin: int64
    | Remove of Timestamp: int64 * Origin: int64
    | Expire of Timestamp: int64 * Origin: int64

/// The transitions of an entry: every way an entry is born, changes or dies.
module internal Lifecycle =
    /// How long L2 remembers a remove, at least.
    let TombstoneLifetime = TimeSpan.FromMinutes 5.0

    /// A fresh entry written at `now` (SEMANTICS §1) with what its source said about it (`validator`). `jitter` is
    /// drawn by the shell in [0, JitterMaxDuration); `timestamp` and `origin` say when and where the value was produced.
    let validated (validator: Validator) (o: EntryOptions) (now: int64) (jitter: int64) (timestamp: int64) (origin: int64) (value: obj) : Entry =
        let duration = o.Duration.Ticks
        let logical = Ticks.add (Ticks.add now duration) jitter
        let physical =
            if o.IsFailSafeEnabled then
                // Never below the logical expiry, jitter included (invariant 4).
                max logical (Ticks.add now (max o.FailSafeMaxDuration.Ticks duration))
            else logical
        let eager =
            match o.EagerRefreshThreshold with
            | ValueSome t when t > 0.0 && t < 1.0 -> Ticks.add now (int64 (float duration * t))
            | _ -> Ticks.Never
        { Value = value
          Timestamp = timestamp
          Origin = origin
          LogicalExpiry = logical
          PhysicalExpiry = physical
          EagerRefreshAt = eager
          IsStale = false
          FailSafeCycles = 0
          Meta = EntryMeta.ofParts o.Tags validator }

    /// A fresh entry written at `now` without a validator (a `Set`, a factory that gave none).
    let written (o: EntryOptions) (now: int64) (jitter: int64) (timestamp: int64) (origin: int64) (value: obj) : Entry =
        validated Validator.none o now jitter timestamp origin value

    /// The entry L2 stores for a write at `now`: the same write, with L2's logical lifetime.
    let validatedDistributed (validator: Validator) (o: EntryOptions) (now: int64) (jitter: int64) (timestamp: int64) (origin: int64) (value: obj) : Entry =
        validated validator { o with Duration = EntryOptions.distributedDuration o } now jitter timestamp origin value

    /// `validatedDistributed` without a validator.
    let writtenDistributed (o: EntryOptions) (now: int64) (jitter: int64) (timestamp: int64) (origin: int64) (value: obj) : Entry =
        validatedDistributed Validator.none o now jitter timestamp origin value

    /// An entry read from L2, as L1 keeps it: its remaining lifetime, but never longer in L1 than
    /// Duration (L1 copies are the ones that can miss a notification).
    let fromDistributed (o: EntryOptions) (now: int64) (e: Entry) : Entry =
        let logical = min e.LogicalExpiry (Ticks.add now o.Duration.Ticks)
        { e with
            LogicalExpiry = logical
            PhysicalExpiry = max logical e.PhysicalExpiry
            EagerRefreshAt = (if e.EagerRefreshAt < logical then e.EagerRefreshAt else Ticks.Never) }

    /// Whether `o` may serve a fallback whose entry has had `cycles` activations.
    let canActivateFailSafe (o: EntryOptions) (cycles: int) : bool =
        o.IsFailSafeEnabled && cycles < o.MaxFailSafeCycles

    /// A fail-safe activation at `now`: the fallback is re-stored as valid for the throttle
    /// duration, marked stale, one more cycle. The throttle never reaches past the physical
    /// expiry: FailSafeMaxDuration bounds how old a served value can be.
    let activated (o: EntryOptions) (now: int64) (fallback: Entry) : Entry =
        let logical = min fallback.PhysicalExpiry (Ticks.add now o.FailSafeThrottleDuration.Ticks)
        { fallback with
            LogicalExpiry = logical
            EagerRefreshAt = Ticks.Never
            IsStale = true
            FailSafeCycles = fallback.FailSafeCycles + 1 }

    /// The entry a caller-given fail-safe default becomes when there is no stale entry: stale,
    /// valid for the throttle duration, one cycle, produced at `timestamp` by `origin`.
    let defaulted (o: EntryOptions) (now: int64) (timestamp: int64) (origin: int64) (value: obj) : Entry =
        let logical = Ticks.add now o.FailSafeThrottleDuration.Ticks
        { Value = value
          Timestamp = timestamp
          Origin = origin
          LogicalExpiry = logical
          PhysicalExpiry = max logical (Ticks.add now o.FailSafeMaxDuration.Ticks)
          EagerRefreshAt = Ticks.Never
          IsStale = true
          FailSafeCycles = 1
          Meta = EntryMeta.ofParts o.Tags Validator.none }

    /// Expire at `now`: the entry becomes Stale (usable as fallback until its physical expiry).
    /// A Dead or already Stale entry is left as it is.
    let expire (now: int64) (e: Entry) : L1Change =
        if now >= e.LogicalExpiry then L1Change.Keep
        else L1Change.Put { e with LogicalExpiry = now; EagerRefreshAt = Ticks.Never }

    /// Invariant 8: `incoming` may replace `current` only if it is not older (`Order`). A re-store of
    /// the same write (a fail-safe activation, the same write read back from L2) is equal, so it lands.
    let supersedes (current: Entry voption) (incoming: Entry) : bool =
        match current with
        | ValueNone -> true
        | ValueSome c -> Order.notBefore incoming.Timestamp incoming.Origin c.Timestamp c.Origin

    /// After a reconnect, a copy written before `writtenBefore` may be out of date (missed
    /// notifications, a write refused on replay): it is expired (kept as a fallback) so the next
    /// read revalidates it against L2. The runtime passes `Ticks.Never`: every copy.
    let revalidate (now: int64) (writtenBefore: int64) (e: Entry) : L1Change =
        if e.Timestamp < writtenBefore then expire now e else L1Change.Keep

    /// After a reconnect, what this node's copy of a key becomes given the header of L2's entry for it (the
    /// write's timestamp and origin, and its logical expiry), as of `now`. A later write in L2 drops the copy
    /// (the next read fetches it: a notification this node missed); the same write made stale in L2 (an Expire
    /// it missed) expires it; anything else keeps it, with no L2 read. So a blip costs one header check per
    /// copy instead of one full read per key read afterwards (no reconnect herd).
    let reconcile (now: int64) (current: Entry voption) (l2Timestamp: int64) (l2Origin: int64) (l2LogicalExpiry: int64) : L1Change =
        match current with
        | ValueNone -> L1Change.Keep
        | ValueSome c ->
            if Order.after l2Timestamp l2Origin c.Timestamp c.Origin then L1Change.Drop
            elif l2Timestamp = c.Timestamp && l2Origin = c.Origin && l2LogicalExpiry <= now then expire now c
            else L1Change.Keep

    /// The timestamp a notification carries.
    let timestampOf (n: Remote) : int64 =
        match n with
        | Remote.Set(ts, _)
        | Remote.Remove(ts, _)
        | Remote.Expire(ts, _) -> ts

    /// The node that made the write a notification speaks of.
    let originOf (n: Remote) : int64 =
        match n with
        | Remote.Set(_, o)
        | Remote.Remove(_, o)
        | Remote.Expire(_, o) -> o

    /// What a remote notification does to this node's copy: lazy invalidation, never a re-read. Whether it
    /// also supersedes a flight running here is `Work.supersedes`'s decision, not the copy's.
    let applyRemote (now: int64) (current: Entry voption) (n: Remote) : L1Change =
        match current, n with
        | ValueNone, _ -> L1Change.Keep
        // The same order as L1's and L2's (`Order`): a Set tied in time with our copy wins by origin.
        | ValueSome c, Remote.Set(ts, o) -> if Order.after ts o c.Timestamp c.Origin then L1Change.Drop else L1Change.Keep
        // A message older than our copy speaks of a value we have already replaced.
        | ValueSome c, Remote.Remove(ts, o) -> if Order.notBefore ts o c.Timestamp c.Origin then L1Change.Drop else L1Change.Keep
        | ValueSome c, Remote.Expire(ts, o) -> if Order.notBefore ts o c.Timestamp c.Origin then expire now c else L1Change.Keep
