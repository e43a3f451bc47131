namespace Fusion.Core

open System

/// What one caller gets. A struct, like the plan and the outcome below: a miss then allocates only
/// what it keeps (the entry), not the decisions on the way.
[<Struct; NoComparison; NoEquality>]
type internal Reply =
    /// A value; `IsStale` when it is a fail-safe fallback.
    | Value of Payload: obj * IsStale: bool
    | Error of Reason: Fusion.Err

/// How a flight ended, as all its waiters see it. Each waiter turns it into its own `Reply` by its
/// own options (`Flight.replyFor`): the leader's options never decide what a joiner gets (invariant 12).
/// A value (the factory's, `IsStale` false; or one found valid in L1 or L2, `IsStale` when it is being
/// served by fail-safe), with the entry it came from and where that was; or a failure (the factory failed, was
/// cancelled, or a refresh ran out of time) carrying the fallback the leader had, so that a waiter that cannot find
/// it in L1 (this call skips L1, or the fail-safe activation was not stored there) can still fall back on it. The
/// value, its entry and the fallback share a field.
[<Struct; NoComparison; NoEquality>]
type internal Ending =
    private
        { item: obj | null
          stale: bool
          /// Whether `item` is the entry the value came from (else the bare value, or the fallback of a failure).
          served: bool
          source: Fusion.ValueSource
          error: Fusion.Err | null }

    /// A value ending.
    member e.IsValue: bool = isNull e.error
    /// A failed ending.
    member e.IsFailed: bool = not (isNull e.error)
    /// The value of a value ending; null for a failed one.
    member e.Payload: obj | null =
        match e.error, e.item with
        | null, (:? Entry as entry) when e.served -> entry.Value
        | null, item -> item
        | _ -> null
    /// Whether the value is being served by fail-safe.
    member e.IsStale: bool = e.stale
    /// The error of a failed ending; null for a value.
    member e.Error: Fusion.Err | null = e.error
    /// The entry a value ending's value came from, when known.
    member e.Served: Entry voption =
        match e.error, e.item with
        | null, (:? Entry as entry) when e.served -> ValueSome entry
        | _ -> ValueNone
    /// Where a value ending's value came from (`Memory` when not known).
    member e.Source: Fusion.ValueSource = e.source

    /// The fallback a failed ending carries: the leader's fail-safe activation, or the entry it fell back on.
    member e.Fallback: Entry voption =
        match e.error, e.item with
        | null, _ | _, null -> ValueNone
        | _, item -> ValueSome(item :?> Entry)

    /// A value, `isStale` when it is being served by fail-safe.
    static member NewValue(payload: obj, isStale: bool) : Ending =
        { item = payload; stale = isStale; served = false; source = Fusion.ValueSource.Memory; error = null }
    /// The value of `entry`, found or made at `source`.
    static member Of(entry: Entry, source: Fusion.ValueSource) : Ending =
        { item = entry; stale = entry.IsStale; served = true; source = source; error = null }
    /// A failure with no fallback.
    static member NewFailed(error: Fusion.Err) : Ending =
        { item = null; stale = false; served = false; source = Fusion.ValueSource.Memory; error = error }
    /// A failure carrying the leader's fallback.
    static member FailedWith(error: Fusion.Err, fallback: Entry voption) : Ending =
        { item = (match fallback with ValueSome f -> box f | ValueNone -> null); stale = false; served = false
          source = Fusion.ValueSource.Memory; error = error }

/// What a flight's leader was asked for (a struct: it lives only for the call to `plan`).
[<Struct; NoComparison; NoEquality>]
type internal FlightRequest =
    { Options: EntryOptions
      Now: int64
      /// The timestamp the result will carry (the shell's write stamp, at or just after `Now`).
      Timestamp: int64
      /// This node's origin: the result's (`Order`).
      Origin: int64
      /// An eager refresh: it runs even while the entry is valid.
      Refresh: bool
      /// L1's entry for the key.
      Current: Entry voption
      /// The caller-given fail-safe default value.
      Default: obj voption
      /// Whether the cache has a distributed level.
      HasDistributed: bool }

/// How the factory is to be run by the flight's leader.
[<Struct; NoComparison; NoEquality>]
type internal FactoryRun =
    { /// When the flight began: the timestamp its result will carry.
      StartedAt: int64
      /// This node's origin: its result's.
      Origin: int64
      /// The entry to fall back on, if any (a stale entry, or a still-valid one being refreshed).
      Fallback: Entry voption
      /// The caller-given fail-safe default value, if any.
      Default: obj voption
      /// How long the leader lets the factory run: `Timeout.InfiniteTimeSpan`, except for a refresh
      /// whose factory may not complete in the background (nobody waits on a refresh, so no waiter's
      /// timeout would ever end it): its hard timeout.
      Deadline: TimeSpan
      /// Whether the result goes to L2 and the backplane too.
      HasDistributed: bool
      /// An eager refresh.
      Refresh: bool }

/// The leader's next step.
[<Struct; NoComparison; NoEquality>]
type internal FlightPlan =
    /// A valid value is at hand (L1 turned fresh meanwhile, or L2 had it): the flight ends, no factory.
    | Answer of Ending: Ending * Change: L1Change
    /// Read L2 first (within these timeouts), then call `Flight.afterDistributedRead`.
    | ReadDistributed of Run: FactoryRun * SoftTimeout: TimeSpan * HardTimeout: TimeSpan
    | RunFactory of Run: FactoryRun

/// How a factory run ended, as the shell observed it.
[<Struct; NoComparison; NoEquality>]
type internal Outcome =
    /// A value, with what the source said about it (`Validator.none` for nothing).
    | Succeeded of Value: obj * Validator: Validator
    /// The source said the fallback's value has not changed (a conditional refresh): it is stored again as
    /// fresh, with the validator the source gave now (what it does not give is kept from the fallback).
    | NotModified of Renewed: Validator
    /// `Left`, an exception or a faulted task (the shell turns the last two into `Err.FactoryFailed`).
    | Failed of Error: Fusion.Err
    /// A refresh ran past its `Deadline`; the shell cancels its factory.
    | TimedOut
    | Cancelled

/// What the leader does with an outcome: end the flight for every waiter, change L1 and L2, tell the
/// other nodes. The changes land only while the flight is the key's current one (`Work.mayLand`).
[<Struct; NoComparison; NoEquality>]
type internal Settlement =
    { Ending: Ending
      Change: L1Change
      Distributed: L2Change
      Notify: Remote voption }

/// The decisions of one single flight (SEMANTICS §3, steps 2–7).
module internal Flight =
    let private noTimeout = Threading.Timeout.InfiniteTimeSpan

    /// A factory answered "not modified" with no value to keep (the runtime lets it only with a stale value).
    let private notModifiedWithoutValue =
        Fusion.Err.FactoryFailed("the factory answered not modified, but there was no stale value to keep", null)

    /// Told to a caller without fail-safe whose flight found only a value being served by fail-safe.
    let private staleOnly =
        Fusion.Err.FactoryFailed("the source failed recently and only a stale value is being served; this call does not allow fail-safe", null)

    /// The fallback a caller with options `o` may serve: a still-valid entry as it is, or a stale one
    /// when fail-safe is on. Dead entries are absent.
    let private fallbackOf (o: EntryOptions) (now: int64) (current: Entry voption) : Entry voption =
        match current with
        | ValueSome e ->
            match Entry.classifyFor o.IsFailSafeEnabled now e with
            | Fresh | RefreshDue -> current
            | Stale when o.IsFailSafeEnabled -> current
            | Stale | Dead -> ValueNone
        | ValueNone -> ValueNone

    /// What of L1 a caller with options `o` sees: nothing when it skips L1 (`SkipMemoryCacheRead`).
    let private visible (o: EntryOptions) (current: Entry voption) : Entry voption =
        if o.SkipMemoryCacheRead then ValueNone else current

    /// The change that stores a value the caller's options produced: none when they skip L1
    /// (`SkipMemoryCacheWrite`), except that a new value still drops this node's older copy, so no read
    /// here after it returns the older value (invariant 11). A fail-safe activation is then not stored.
    let storedBy (o: EntryOptions) (change: L1Change) : L1Change =
        if not o.SkipMemoryCacheWrite then change
        else
            match change with
            | L1Change.Put e when not e.IsStale -> L1Change.Drop
            | L1Change.Put _ -> L1Change.Keep
            | other -> other

    /// The newer of two fallbacks (`Order`); L1's on a tie, which holds the latest activation of the write.
    let private newer (l1: Entry voption) (carried: Entry voption) : Entry voption =
        match l1, carried with
        | ValueSome a, ValueSome b -> if Lifecycle.supersedes (ValueSome b) a then l1 else carried
        | ValueNone, _ -> carried
        | _, ValueNone -> l1

    let private defaultOf (o: EntryOptions) (fallbackDefault: obj voption) = if o.IsFailSafeEnabled then fallbackDefault else ValueNone

    /// Whether a caller can end in a fail-safe activation: the condition for its soft timeout.
    let private canFallBack (o: EntryOptions) (fallback: Entry voption) (fallbackDefault: obj voption) =
        match fallback with
        | ValueSome e -> Lifecycle.canActivateFailSafe o e.FailSafeCycles
        | ValueNone -> fallbackDefault.IsSome && Lifecycle.canActivateFailSafe o 0

    let private softIf (applies: bool) (timeout: TimeSpan) = if applies then timeout else noTimeout

    /// What the leader does first.
    let plan (r: FlightRequest) : FlightPlan =
        let o = r.Options
        let current = visible o r.Current
        match current with
        | ValueSome e when not r.Refresh && Entry.classifyFor o.IsFailSafeEnabled r.Now e = Fresh ->
            FlightPlan.Answer(Ending.Of(e, Fusion.ValueSource.Memory), L1Change.Keep)
        | _ ->
            let fallback = fallbackOf o r.Now current
            let fallbackDefault = defaultOf o r.Default
            let run =
                { StartedAt = r.Timestamp
                  Origin = r.Origin
                  Fallback = fallback
                  Default = fallbackDefault
                  Deadline = (if r.Refresh && not o.AllowTimedOutFactoryBackgroundCompletion then o.FactoryHardTimeout else noTimeout)
                  HasDistributed = r.HasDistributed
                  Refresh = r.Refresh }
            if r.HasDistributed && not o.SkipDistributedCacheRead then
                let soft = softIf (canFallBack o run.Fallback run.Default) o.DistributedCacheSoftTimeout
                FlightPlan.ReadDistributed(run, soft, o.DistributedCacheHardTimeout)
            else
                FlightPlan.RunFactory run

    /// What L1 keeps of a value read from L2 (`Lifecycle.fromDistributed`): a copy, unless the caller skips L1.
    let copyOf (o: EntryOptions) (fromDistributed: Entry) : L1Change =
        if o.SkipMemoryCacheWrite then L1Change.Keep else L1Change.Put fromDistributed

    /// Whether a read-only lookup with options `o` (`TryGet`) looks in L1 at all.
    let readsMemory (o: EntryOptions) : bool = not o.SkipMemoryCacheRead

    /// After the L2 read (`ValueNone` for a miss, an error or a timeout): a valid L2 value is the
    /// answer (a refresh takes it only if it is newer than the value it refreshes); otherwise the
    /// factory runs, falling back on the newer of L1's and L2's stale values.
    let afterDistributedRead (o: EntryOptions) (now: int64) (run: FactoryRun) (distributed: Entry voption) : FlightPlan =
        match distributed with
        | ValueSome d when Entry.classifyFor o.IsFailSafeEnabled now d <> Stale && Entry.classify now d <> Dead
                           && (not run.Refresh || run.Fallback |> ValueOption.forall (fun f -> d.Timestamp > f.Timestamp)) ->
            let copy = Lifecycle.fromDistributed o now d
            FlightPlan.Answer(Ending.Of(copy, Fusion.ValueSource.Distributed), copyOf o copy)
        | ValueSome d when o.IsFailSafeEnabled && Entry.classify now d = Stale ->
            let newer =
                match run.Fallback with
                | ValueSome f when not (Lifecycle.supersedes (ValueSome f) d) -> run.Fallback
                | _ -> ValueSome(Lifecycle.fromDistributed o now d)
            FlightPlan.RunFactory { run with Fallback = newer }
        | _ -> FlightPlan.RunFactory run

    /// A failure (error, timeout) answered by the fallback when one may be served: a still-valid
    /// entry as it is; else a fail-safe activation; else the default value; else the error.
    /// `timestamp` / `origin` order a default value stored as an entry.
    let private failOver (o: EntryOptions) (now: int64) (fallback: Entry voption) (fallbackDefault: obj voption)
                         (timestamp: int64) (origin: int64) (error: Fusion.Err) : struct (Reply * L1Change) =
        match fallback with
        | ValueSome e when now < e.LogicalExpiry -> struct (Reply.Value(e.Value, e.IsStale), L1Change.Keep)
        | ValueSome e when now < e.PhysicalExpiry && Lifecycle.canActivateFailSafe o e.FailSafeCycles ->
            let next = Lifecycle.activated o now e
            struct (Reply.Value(next.Value, true), L1Change.Put next)
        | ValueSome _ -> struct (Reply.Error error, L1Change.Keep)
        | ValueNone ->
            match fallbackDefault with
            | ValueSome d when Lifecycle.canActivateFailSafe o 0 ->
                struct (Reply.Value(d, true), L1Change.Put(Lifecycle.defaulted o now timestamp origin d))
            | _ -> struct (Reply.Error error, L1Change.Keep)

    /// The effects of a factory success beyond L1: the L2 write and the notification, as the options allow.
    let private distributedEffects (o: EntryOptions) (now: int64) (jitter: int64) (run: FactoryRun) (value: obj) (validator: Validator) =
        let l2 =
            if run.HasDistributed && not o.SkipDistributedCacheWrite then
                L2Change.Put(Lifecycle.validatedDistributed validator o now jitter run.StartedAt run.Origin value)
            else L2Change.Keep
        let notify =
            if run.HasDistributed && not o.SkipBackplaneNotifications then ValueSome(Remote.Set(run.StartedAt, run.Origin))
            else ValueNone
        struct (l2, notify)

    /// Fold the outcome of a run into the flight's ending and the changes, with the leader's options
    /// (`o`). `jitter` is the shell's draw. A failure re-stores the leader's fallback as a fail-safe
    /// activation when its options allow; every waiter then finds it in L1 (`replyFor`).
    let settle (o: EntryOptions) (now: int64) (jitter: int64) (run: FactoryRun) (outcome: Outcome) : Settlement =
        let failed error =
            let struct (_, change) = failOver o now run.Fallback run.Default run.StartedAt run.Origin error
            // What the waiters may fall back on: the activation (or stored default) when there is one, else the
            // leader's fallback; carried by the ending, since L1 may not hold it (SkipMemoryCacheWrite, a caller
            // that skips L1). A fail-safe activation stays on this node: L2 keeps the last real value.
            let carried = match change with L1Change.Put e -> ValueSome e | _ -> run.Fallback
            { Ending = Ending.FailedWith(error, carried); Change = storedBy o change; Distributed = L2Change.Keep; Notify = ValueNone }
        let succeeded (v: obj) (validator: Validator) =
            let struct (l2, notify) = distributedEffects o now jitter run v validator
            let produced = Lifecycle.validated validator o now jitter run.StartedAt run.Origin v
            { Ending = Ending.Of(produced, Fusion.ValueSource.Factory)
              Change = storedBy o (L1Change.Put produced)
              Distributed = l2
              Notify = notify }
        match outcome with
        | Outcome.Succeeded(v, validator) -> succeeded v validator
        // The source confirmed the value it was asked about: a new write of it (the flight's stamp), fresh.
        | Outcome.NotModified renewed ->
            match run.Fallback with
            | ValueSome f -> succeeded f.Value (Validator.renew f.Validator renewed)
            | ValueNone -> failed notModifiedWithoutValue
        | Outcome.Failed e -> failed e
        | Outcome.TimedOut -> failed (Fusion.Err.FactoryTimedOut run.Deadline)
        // Every waiter has gone: nobody to serve, so no fail-safe activation either.
        | Outcome.Cancelled ->
            { Ending = Ending.NewFailed(Fusion.Err.Cancelled "every caller gave up and the factory was cancelled")
              Change = L1Change.Keep
              Distributed = L2Change.Keep
              Notify = ValueNone }

    /// What one caller gets from its flight's ending, by its **own** options (invariant 12), with
    /// `current` L1's entry for the key now (after the leader's changes, so a fail-safe activation
    /// the leader stored is there) and its own fail-safe default. A failed ending falls back on the newer of
    /// L1's entry (unless the caller skips L1) and the fallback the ending carries. A caller without
    /// fail-safe never gets a stale value, whatever the leader allowed.
    let replyFor (o: EntryOptions) (now: int64) (current: Entry voption) (fallbackDefault: obj voption) (ending: Ending) : Reply =
        match ending.Error with
        | null ->
            if ending.IsStale && not o.IsFailSafeEnabled then Reply.Error staleOnly
            else
                match ending.Payload with
                | null -> Reply.Error staleOnly // not reached: a value ending holds a value
                | payload -> Reply.Value(payload, ending.IsStale)
        | error ->
            let candidate = newer (visible o current) ending.Fallback
            let struct (reply, _) = failOver o now (fallbackOf o now candidate) (defaultOf o fallbackDefault) 0L 0L error
            reply

    /// How long one caller waits for its flight, by its own options, given the entry it saw in L1:
    /// its soft timeout when it could fall back then (fail-safe on, and a fallback it may activate),
    /// else its hard one; and whether the limit is the soft one. The flight itself has no timeout: a
    /// caller that stops waiting leaves it running for the others, and for a background completion.
    let waitLimit (o: EntryOptions) (now: int64) (seen: Entry voption) (fallbackDefault: obj voption) : struct (TimeSpan * bool) =
        let soft = softIf (canFallBack o (fallbackOf o now (visible o seen)) (defaultOf o fallbackDefault)) o.FactorySoftTimeout
        Ticks.firstTimeout soft o.FactoryHardTimeout

    /// A caller's wait ran out (`soft`: its soft timeout, else its hard one): its reply from `current`
    /// (L1's entry now) and its own default, and the fail-safe activation to store when it serves a
    /// stale entry (it lands only while the flight is current: `Work.mayLand`; never with SkipMemoryCacheWrite).
    /// `startedAt` is the flight's stamp and `origin` this node's: a default value stored as an entry is the flight's
    /// write, so the flight's own result (the same write) still lands over it when it completes.
    let timedOut (o: EntryOptions) (now: int64) (current: Entry voption) (fallbackDefault: obj voption) (startedAt: int64) (origin: int64) (soft: bool) : struct (Reply * L1Change) =
        let after = if soft then o.FactorySoftTimeout else o.FactoryHardTimeout
        let struct (reply, change) =
            failOver o now (fallbackOf o now (visible o current)) (defaultOf o fallbackDefault) startedAt origin (Fusion.Err.FactoryTimedOut after)
        struct (reply, storedBy o change)
