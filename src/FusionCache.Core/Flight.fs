namespace Fusion.Core

open System

/// What a read returns to its callers.
[<RequireQualifiedAccess; NoComparison; ReferenceEquality>]
type Reply =
    /// A value; `IsStale` when it is a fail-safe fallback.
    | Value of Payload: obj * IsStale: bool
    | Error of Reason: Fusion.Err

/// How the factory is to be run by the flight's leader.
[<NoComparison; ReferenceEquality>]
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
      HardTimeout: TimeSpan }

/// The leader's first step.
[<RequireQualifiedAccess; NoComparison; ReferenceEquality>]
type FlightPlan =
    /// L1 turned fresh while the caller queued (an earlier flight finished): answer, no factory.
    | Answer of Reply: Reply
    | RunFactory of Run: FactoryRun

/// How a factory run ended, as the shell observed it.
[<RequireQualifiedAccess; NoComparison; ReferenceEquality>]
type Outcome =
    | Succeeded of Value: obj
    /// `Left`, an exception or a faulted task (the shell turns the last two into `Err.FactoryFailed`).
    | Failed of Error: Fusion.Err
    | SoftTimedOut
    | HardTimedOut
    | Cancelled

/// What the leader does with an outcome: reply to every waiter, change L1, and whether a timed-out
/// factory keeps running for a background completion.
[<NoComparison; ReferenceEquality>]
type Settlement =
    { Reply: Reply
      Change: L1Change
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

    /// What the leader does first, given L1's entry now and the caller's fail-safe default.
    /// `sequence` is the node's next write sequence. `refresh` is true for an eager refresh,
    /// which runs even while the entry is valid.
    let plan (o: EntryOptions) (now: int64) (sequence: int64) (refresh: bool) (current: Entry voption) (fallbackDefault: obj voption) : FlightPlan =
        match current with
        | ValueSome e when not refresh && Entry.classifyFor o.IsFailSafeEnabled now e = Fresh ->
            FlightPlan.Answer(Reply.Value(e.Value, e.IsStale))
        | _ ->
            let fallback = fallbackOf o now current
            let cycles = match fallback with ValueSome e -> e.FailSafeCycles | ValueNone -> 0
            let hasFallback = fallback.IsSome || (o.IsFailSafeEnabled && fallbackDefault.IsSome)
            let soft =
                if hasFallback && Lifecycle.canActivateFailSafe o cycles then o.FactorySoftTimeout
                else noTimeout
            FlightPlan.RunFactory
                { StartedAt = now
                  Sequence = sequence
                  Fallback = fallback
                  Default = (if o.IsFailSafeEnabled then fallbackDefault else ValueNone)
                  SoftTimeout = soft
                  HardTimeout = o.FactoryHardTimeout }

    /// A failure (error, timeout, cancellation) answered by the fallback when one may be served:
    /// a still-valid entry as it is; else a fail-safe activation; else the error.
    let private failOver (o: EntryOptions) (now: int64) (run: FactoryRun) (error: Fusion.Err) : Reply * L1Change =
        match run.Fallback with
        | ValueSome e when now < e.LogicalExpiry -> Reply.Value(e.Value, e.IsStale), L1Change.Keep
        | ValueSome e when now < e.PhysicalExpiry && Lifecycle.canActivateFailSafe o e.FailSafeCycles ->
            let next = Lifecycle.activated o now e
            Reply.Value(next.Value, true), L1Change.Put next
        | ValueSome _ -> Reply.Error error, L1Change.Keep
        | ValueNone ->
            match run.Default with
            | ValueSome d when Lifecycle.canActivateFailSafe o 0 ->
                Reply.Value(d, true), L1Change.Put(Lifecycle.defaulted o now run.StartedAt run.Sequence d)
            | _ -> Reply.Error error, L1Change.Keep

    /// Fold the outcome of a run into the reply and the L1 change. `jitter` is the shell's draw.
    let settle (o: EntryOptions) (now: int64) (jitter: int64) (run: FactoryRun) (outcome: Outcome) : Settlement =
        let failed error keepRunning =
            let reply, change = failOver o now run error
            { Reply = reply; Change = change; KeepFactoryRunning = keepRunning }
        match outcome with
        | Outcome.Succeeded v ->
            { Reply = Reply.Value(v, false)
              Change = L1Change.Put(Lifecycle.written o now jitter run.StartedAt run.Sequence v)
              KeepFactoryRunning = false }
        | Outcome.Failed e -> failed e false
        // Every waiter has gone: nobody to serve, so no fail-safe activation either.
        | Outcome.Cancelled ->
            { Reply = Reply.Error(Fusion.Err.Cancelled "every caller gave up and the factory was cancelled")
              Change = L1Change.Keep
              KeepFactoryRunning = false }
        | Outcome.SoftTimedOut ->
            failed (Fusion.Err.FactoryTimedOut o.FactorySoftTimeout) o.AllowTimedOutFactoryBackgroundCompletion
        | Outcome.HardTimedOut ->
            failed (Fusion.Err.FactoryTimedOut o.FactoryHardTimeout) o.AllowTimedOutFactoryBackgroundCompletion

    /// A timed-out factory that later succeeded: the entry to write (the shell writes it only
    /// if it supersedes what L1 holds by then).
    let completedInBackground (o: EntryOptions) (now: int64) (jitter: int64) (run: FactoryRun) (value: obj) : Entry =
        Lifecycle.written o now jitter run.StartedAt run.Sequence value
