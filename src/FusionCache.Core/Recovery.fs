namespace Fusion.Core

/// What one key still owes L2 and the other nodes after a failure (SEMANTICS §4, Recovery): the newest
/// write that replaces the value (a Put or a Remove), the newest Expire made after it, and the newest
/// notification of each kind. `'w` is the shell's prepared write (serialized already).
///
/// Why this merge is exact: a node's own writes of a key are stamped in increasing order and L2 guards
/// every change by that order. A Put or Remove overwrites whatever an older write of this node left, so
/// only the newest counts; an Expire made before it is overwritten by it; of several Expires after it,
/// the newest leaves L2 stale exactly when the whole sequence would have (all their instants are past at
/// replay). Notifications are guarded the same way at the receivers: a Set or Remove notice makes every
/// older notice of the key redundant. So replaying the merge leaves L2 and the other nodes as the
/// acknowledged operations would have, in their order (invariant 13), whatever order they were queued in.
[<NoComparison; NoEquality>]
type internal Pending<'w> =
    { /// The newest Put or Remove, and its timestamp.
      Replace: 'w voption
      ReplaceAt: int64
      /// The newest Expire made after `Replace` (or alone), and its timestamp.
      Expire: 'w voption
      ExpireAt: int64
      /// The newest Set or Remove notification.
      ReplaceNotice: Remote voption
      /// The newest Expire notification made after `ReplaceNotice`.
      ExpireNotice: Remote voption
      /// Replays of this key refused by a per-key error so far.
      Attempts: int
      /// Not replayed before this instant (a per-key error's backoff).
      RetryAt: int64 }

/// Why a replay of one key failed, as the shell classifies the error.
[<Struct>]
type internal ReplayError =
    /// Redis is unreachable, loading or timing out: nothing can be replayed now.
    | Connection
    /// This key only (a wrong type at the key, a permission refused, a script error).
    | Key

/// What the shell does after a failed replay of one key.
[<Struct; NoComparison; NoEquality>]
type internal AfterFailure =
    /// Keep everything, stop this pass: the next reconnect or recovery delay replays again.
    | Pause
    /// Keep the key's operations but skip them until `At`; other keys go on at once.
    | RetryAt of At: int64
    /// The key failed too often: drop its operations (the shell logs what it drops).
    | GiveUp

module internal Recovery =
    /// How many per-key failures a key's operations survive before they are dropped.
    [<Literal>]
    let MaxAttempts = 5

    /// The longest backoff between two replays of a key that keeps failing.
    let MaxBackoff = System.TimeSpan.FromMinutes 5.0

    let empty<'w> : Pending<'w> =
        { Replace = ValueNone; ReplaceAt = 0L; Expire = ValueNone; ExpireAt = 0L
          ReplaceNotice = ValueNone; ExpireNotice = ValueNone; Attempts = 0; RetryAt = 0L }

    /// Whether nothing is left to send.
    let isEmpty (p: Pending<'w>) : bool =
        p.Replace.IsNone && p.Expire.IsNone && p.ReplaceNotice.IsNone && p.ExpireNotice.IsNone

    /// Adds a Put or Remove made at `at`. An older one than what is queued was overwritten already.
    let addReplace (at: int64) (write: 'w) (p: Pending<'w>) : Pending<'w> =
        if p.Replace.IsSome && p.ReplaceAt >= at then p
        else
            let expireStays = p.Expire.IsSome && p.ExpireAt > at
            { p with
                Replace = ValueSome write
                ReplaceAt = at
                Expire = (if expireStays then p.Expire else ValueNone)
                ExpireAt = (if expireStays then p.ExpireAt else 0L) }

    /// Adds an Expire made at `at`: kept when it is after the queued Put/Remove and the newest Expire.
    let addExpire (at: int64) (write: 'w) (p: Pending<'w>) : Pending<'w> =
        if (p.Replace.IsSome && p.ReplaceAt >= at) || (p.Expire.IsSome && p.ExpireAt >= at) then p
        else { p with Expire = ValueSome write; ExpireAt = at }

    /// Adds a notification to send.
    let addNotice (notice: Remote) (p: Pending<'w>) : Pending<'w> =
        let at = Lifecycle.timestampOf notice
        let newer (queued: Remote voption) = queued |> ValueOption.forall (fun q -> Lifecycle.timestampOf q < at)
        match notice with
        | Remote.Set _
        | Remote.Remove _ ->
            if not (newer p.ReplaceNotice) then p
            else
                let expireStays = not (newer p.ExpireNotice)
                { p with ReplaceNotice = ValueSome notice; ExpireNotice = (if expireStays then p.ExpireNotice else ValueNone) }
        | Remote.Expire _ ->
            if newer p.ReplaceNotice && newer p.ExpireNotice then { p with ExpireNotice = ValueSome notice } else p

    /// Adds one operation that could not be done: an L2 write (`Replaces` for Put/Remove) made at `at`,
    /// its notification, or both.
    let add (write: struct ('w * bool * int64) voption) (notice: Remote voption) (p: Pending<'w>) : Pending<'w> =
        let p =
            match write with
            | ValueSome(struct (w, true, at)) -> addReplace at w p
            | ValueSome(struct (w, false, at)) -> addExpire at w p
            | ValueNone -> p
        match notice with
        | ValueSome n -> addNotice n p
        | ValueNone -> p

    /// `older` merged into `newer` (what a replay did not get to send goes back beside what arrived
    /// meanwhile): the merge keeps the newest of each part, so the result does not depend on the order.
    let merge (older: Pending<'w>) (newer: Pending<'w>) : Pending<'w> =
        let withWrites =
            newer
            |> (match older.Replace with ValueSome w -> addReplace older.ReplaceAt w | ValueNone -> id)
            |> (match older.Expire with ValueSome w -> addExpire older.ExpireAt w | ValueNone -> id)
            |> (match older.ReplaceNotice with ValueSome n -> addNotice n | ValueNone -> id)
            |> (match older.ExpireNotice with ValueSome n -> addNotice n | ValueNone -> id)
        { withWrites with Attempts = max older.Attempts newer.Attempts; RetryAt = max older.RetryAt newer.RetryAt }

    /// Whether the key's operations may be replayed at `now` (not backing off after a per-key error).
    let isDue (now: int64) (p: Pending<'w>) : bool = p.RetryAt <= now

    /// What to do after a replay of a key failed with `error` at `now`, when it had failed `attempts`
    /// times before; `delay` is the recovery delay (the first backoff, doubled each time, at most
    /// `MaxBackoff`). A connection error is nobody's key: it never counts against one.
    let afterFailure (error: ReplayError) (attempts: int) (now: int64) (delay: System.TimeSpan) : AfterFailure =
        match error with
        | ReplayError.Connection -> AfterFailure.Pause
        | ReplayError.Key when attempts + 1 >= MaxAttempts -> AfterFailure.GiveUp
        | ReplayError.Key ->
            let backoff = min MaxBackoff.Ticks (delay.Ticks <<< min attempts 20)
            AfterFailure.RetryAt(Ticks.add now (max backoff 1L))

    /// What is left once the L2 write replacing the value was sent (done, or refused by a newer one).
    let sentReplace (p: Pending<'w>) : Pending<'w> = { p with Replace = ValueNone }
    /// What is left once the Expire was sent.
    let sentExpire (p: Pending<'w>) : Pending<'w> = { p with Expire = ValueNone }
    /// What is left once the Set or Remove notification was published.
    let sentReplaceNotice (p: Pending<'w>) : Pending<'w> = { p with ReplaceNotice = ValueNone }
    /// What is left once the Expire notification was published.
    let sentExpireNotice (p: Pending<'w>) : Pending<'w> = { p with ExpireNotice = ValueNone }

    /// The key's operations after a per-key failure: kept, one more attempt, not before `retryAt`.
    let failed (retryAt: int64) (p: Pending<'w>) : Pending<'w> =
        { p with Attempts = p.Attempts + 1; RetryAt = retryAt }
