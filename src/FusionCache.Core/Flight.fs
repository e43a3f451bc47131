namespace Fusion.Core

open System

/// What a read returns to its callers. Structs, like the plan and the outcome below: a miss then
/// allocates only what it keeps (the entry), not the decisions on the way.
[<Struct; RequireQualifiedAccess; NoComparison; NoEquality>]
type Reply =
    /// A value; `IsStale` when it is a fail-safe fallback.
    | Value of Payload: obj * IsStale: bool
    | Error of Reason: Fusion.Err

/// What a flight's leader was asked for (a struct: it lives only for the call to `plan`).
[<Struct; NoComparison; NoEquality>]
type FlightRequest =
    { Options: EntryOptions
      Now: int64
      /// The timestamp the result will carry (the shell's write stamp, at or just after `Now`).
      Timestamp: int64
      /// The node's next write sequence: the result's sequence.
      Sequence: int64
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
type FactoryRun =
    { /// When the flight began: the timestamp its result will carry.
      StartedAt: int64
      /// The node's write sequence when the flight began: its result's sequence.
      Sequence: int64
      /// The entry to fall back on, if any (a stale entry, or a still-valid one being refreshed).
      Fallback: Entry voption
      /// The caller-given fail-safe default value, if any.
      Default: obj voption
      /// Past it, return the fallback; `Timeout.InfiniteTimeSpan` when it does not apply.
      SoftTimeout: TimeSpan
      /// Past it, return the fallback or a timeout error; `Timeout.InfiniteTimeSpan` for none.
      HardTimeout: TimeSpan
      /// Whether the result goes to L2 and the backplane too.
      HasDistributed: bool
      /// An eager refresh.
      Refresh: bool }

/// The leader's next step. Both run cases name their field `Run`, so the struct holds one `FactoryRun`
/// (struct union cases share a field of the same name and type), not two.
[<Struct; RequireQualifiedAccess; NoComparison; NoEquality>]
type FlightPlan =
    /// A valid value is at hand (L1 turned fresh meanwhile, or L2 had it): answer, no factory.
    | Answer of Reply: Reply * Change: L1Change
    /// Read L2 first (within these timeouts), then call `Flight.afterDistributedRead`.
    | ReadDistributed of Run: FactoryRun * SoftTimeout: TimeSpan * HardTimeout: TimeSpan
    | RunFactory of Run: FactoryRun

/// How a factory run ended, as the shell observed it.
[<Struct; RequireQualifiedAccess; NoComparison; NoEquality>]
type Outcome =
    | Succeeded of Value: obj
    /// `Left`, an exception or a faulted task (the shell turns the last two into `Err.FactoryFailed`).
    | Failed of Error: Fusion.Err
    | SoftTimedOut
    | HardTimedOut
    | Cancelled

/// What the leader does with an outcome: reply to every waiter, change L1 and L2, tell the other
/// nodes, and whether a timed-out factory keeps running for a background completion. A struct: the
/// shell reads it once and drops it.
[<Struct; NoComparison; NoEquality>]
type Settlement =
    { Reply: Reply
      Change: L1Change
      Distributed: L2Change
      Notify: Remote voption
      KeepFactoryRunning: bool }

/// The decisions of one single flight (SEMANTICS §3, steps 2–6).
module Flight =
    let private noTimeout = Threading.Timeout.InfiniteTimeSpan

    /// The fallback a run may serve: a still-valid entry being refreshed, or a stale one when
    /// fail-safe is on. Dead entries are absent.
    let private fallbackOf (o: EntryOptions) (now: int64) (current: Entry voption) : Entry voption =
        match current with
        | ValueSome e ->
            match Entry.classifyFor o.IsFailSafeEnabled now e with
            | Fresh | RefreshDue -> current
            | Stale when o.IsFailSafeEnabled -> current
            | Stale | Dead -> ValueNone
        | ValueNone -> ValueNone

    /// Whether a run can end in a fail-safe activation: the condition for soft timeouts.
    let private canFallBack (o: EntryOptions) (fallback: Entry voption) (fallbackDefault: obj voption) =
        match fallback with
        | ValueSome e -> Lifecycle.canActivateFailSafe o e.FailSafeCycles
        | ValueNone -> fallbackDefault.IsSome && Lifecycle.canActivateFailSafe o 0

    let private softIf (applies: bool) (timeout: TimeSpan) = if applies then timeout else noTimeout

    let private runWith (o: EntryOptions) (run: FactoryRun) (fallback: Entry voption) =
        { run with
            Fallback = fallback
            SoftTimeout = softIf (canFallBack o fallback run.Default) o.FactorySoftTimeout }

    /// What the leader does first.
    let plan (r: FlightRequest) : FlightPlan =
        let o = r.Options
        match r.Current with
        | ValueSome e when not r.Refresh && Entry.classifyFor o.IsFailSafeEnabled r.Now e = Fresh ->
            FlightPlan.Answer(Reply.Value(e.Value, e.IsStale), L1Change.Keep)
        | _ ->
            let fallback = fallbackOf o r.Now r.Current
            let fallbackDefault = if o.IsFailSafeEnabled then r.Default else ValueNone
            let run =
                { StartedAt = r.Timestamp
                  Sequence = r.Sequence
                  Fallback = fallback
                  Default = fallbackDefault
                  SoftTimeout = softIf (canFallBack o fallback fallbackDefault) o.FactorySoftTimeout
                  HardTimeout = o.FactoryHardTimeout
                  HasDistributed = r.HasDistributed
                  Refresh = r.Refresh }
            if r.HasDistributed && not o.SkipDistributedCacheRead then
                let soft = softIf (canFallBack o run.Fallback run.Default) o.DistributedCacheSoftTimeout
                FlightPlan.ReadDistributed(run, soft, o.DistributedCacheHardTimeout)
            else
                FlightPlan.RunFactory run

    /// After the L2 read (`ValueNone` for a miss, an error or a timeout): a valid L2 value is the
    /// answer (a refresh takes it only if it is newer than the value it refreshes); otherwise the
    /// factory runs, falling back on the newer of L1's and L2's stale values.
    let afterDistributedRead (o: EntryOptions) (now: int64) (run: FactoryRun) (distributed: Entry voption) : FlightPlan =
        match distributed with
        | ValueSome d when Entry.classifyFor o.IsFailSafeEnabled now d <> Stale && Entry.classify now d <> Dead
                           && (not run.Refresh || run.Fallback |> ValueOption.forall (fun f -> d.Timestamp > f.Timestamp)) ->
            FlightPlan.Answer(Reply.Value(d.Value, d.IsStale), L1Change.Put(Lifecycle.fromDistributed o now d))
        | ValueSome d when o.IsFailSafeEnabled && Entry.classify now d = Stale ->
            let newer =
                match run.Fallback with
                | ValueSome f when not (Lifecycle.supersedes (ValueSome f) d) -> run.Fallback
                | _ -> ValueSome(Lifecycle.fromDistributed o now d)
            FlightPlan.RunFactory(runWith o run newer)
        | _ -> FlightPlan.RunFactory run

    /// A failure (error, timeout) answered by the fallback when one may be served: a still-valid
    /// entry as it is; else a fail-safe activation; else the error.
    let private failOver (o: EntryOptions) (now: int64) (run: FactoryRun) (error: Fusion.Err) : struct (Reply * L1Change) =
        match run.Fallback with
        | ValueSome e when now < e.LogicalExpiry -> struct (Reply.Value(e.Value, e.IsStale), L1Change.Keep)
        | ValueSome e when now < e.PhysicalExpiry && Lifecycle.canActivateFailSafe o e.FailSafeCycles ->
            let next = Lifecycle.activated o now e
            struct (Reply.Value(next.Value, true), L1Change.Put next)
        | ValueSome _ -> struct (Reply.Error error, L1Change.Keep)
        | ValueNone ->
            match run.Default with
            | ValueSome d when Lifecycle.canActivateFailSafe o 0 ->
                struct (Reply.Value(d, true), L1Change.Put(Lifecycle.defaulted o now run.StartedAt run.Sequence d))
            | _ -> struct (Reply.Error error, L1Change.Keep)

    /// The effects of a factory success beyond L1: the L2 write and the notification, as the options allow.
    let private distributedEffects (o: EntryOptions) (now: int64) (jitter: int64) (run: FactoryRun) (value: obj) =
        let l2 =
            if run.HasDistributed && not o.SkipDistributedCacheWrite then
                L2Change.Put(Lifecycle.writtenDistributed o now jitter run.StartedAt run.Sequence value)
            else L2Change.Keep
        let notify =
            if run.HasDistributed && not o.SkipBackplaneNotifications then ValueSome(Remote.Set run.StartedAt)
            else ValueNone
        struct (l2, notify)

    /// Fold the outcome of a run into the reply and the changes. `jitter` is the shell's draw.
    let settle (o: EntryOptions) (now: int64) (jitter: int64) (run: FactoryRun) (outcome: Outcome) : Settlement =
        let failed error keepRunning =
            let struct (reply, change) = failOver o now run error
            // A fail-safe activation stays on this node: L2 keeps the last real value.
            { Reply = reply; Change = change; Distributed = L2Change.Keep; Notify = ValueNone; KeepFactoryRunning = keepRunning }
        match outcome with
        | Outcome.Succeeded v ->
            let struct (l2, notify) = distributedEffects o now jitter run v
            { Reply = Reply.Value(v, false)
              Change = L1Change.Put(Lifecycle.written o now jitter run.StartedAt run.Sequence v)
              Distributed = l2
              Notify = notify
              KeepFactoryRunning = false }
        | Outcome.Failed e -> failed e false
        // Every waiter has gone: nobody to serve, so no fail-safe activation either.
        | Outcome.Cancelled ->
            { Reply = Reply.Error(Fusion.Err.Cancelled "every caller gave up and the factory was cancelled")
              Change = L1Change.Keep
              Distributed = L2Change.Keep
              Notify = ValueNone
              KeepFactoryRunning = false }
        | Outcome.SoftTimedOut ->
            failed (Fusion.Err.FactoryTimedOut o.FactorySoftTimeout) o.AllowTimedOutFactoryBackgroundCompletion
        | Outcome.HardTimedOut ->
            failed (Fusion.Err.FactoryTimedOut o.FactoryHardTimeout) o.AllowTimedOutFactoryBackgroundCompletion

    /// A timed-out factory that later succeeded: the same writes as a success (L1 only if it
    /// supersedes what L1 holds by then; L2 only if newer there).
    let completedInBackground (o: EntryOptions) (now: int64) (jitter: int64) (run: FactoryRun) (value: obj) : Settlement =
        settle o now jitter run (Outcome.Succeeded value)
