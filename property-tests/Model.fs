/// A reference model of one node, built only from the pure core and interpreted the way the
/// C# shell is meant to: the invariants are checked on it, and the runtime is checked against it.
module Fusion.PropertyTests.Model

open System
open Fusion
open Fusion.Core

/// What the source does when the factory runs.
type Source =
    | Returns of Value: int
    | Fails
    | Throws
    /// Runs past the timeouts (only where a timeout applies), then completes with the value.
    | Stalls of Later: int

/// One request to the node.
type Op =
    | Advance of Millis: int
    | Get of Key: string * Source: Source * Default: int option
    | Set of Key: string * Value: int
    | Remove of Key: string
    | Expire of Key: string
    | TryGet of Key: string
    /// The oldest timed-out factory still running finishes.
    | CompleteBackground

/// What a request answered, as the caller sees it.
type Answer =
    | Got of Value: int * IsStale: bool
    | Failed of Err
    | Found of int option
    | Done

type internal Node =
    { Now: int64
      Options: EntryOptions
      Entries: Map<string, Entry>
      FactoryCalls: int
      /// The node's last write stamp: each write's is now, but after the last (as the shell's clock stamps).
      LastStamp: int64
      /// Factories still running after their callers stopped waiting (each the key's current flight,
      /// at most one per key): key, run, the value it will produce.
      Pending: (string * FactoryRun * int) list }

let internal create (options: EntryOptions) (start: int64) =
    { Now = start; Options = options; Entries = Map.empty; FactoryCalls = 0; LastStamp = 0L; Pending = [] }

let internal entryOf key node : Entry voption =
    match Map.tryFind key node.Entries with
    | Some e -> ValueSome e
    | None -> ValueNone

/// The one node's origin (`Order`): with a single node, stamps alone order the writes.
[<Literal>]
let internal Origin = 1L

/// A write's stamp: now, but after the node's last one (the shell's clock never repeats a stamp).
let internal stamped node =
    let stamp = max node.Now (node.LastStamp + 1L)
    stamp, { node with LastStamp = stamp }

/// The shell's jitter draw, fixed at its largest so the model explores the widest lifetimes.
let internal jitter (o: EntryOptions) = max 0L (o.JitterMaxDuration.Ticks - 1L)

/// The shell's write: `Put` lands only if it supersedes (invariant 8).
let internal apply key (change: L1Change) node =
    match change with
    | L1Change.Put entry ->
        if Lifecycle.supersedes (entryOf key node) entry then { node with Entries = Map.add key entry node.Entries }
        else node
    | L1Change.Drop -> { node with Entries = Map.remove key node.Entries }
    | L1Change.ExpireAt at ->
        match entryOf key node with
        | ValueSome e ->
            match Lifecycle.expire at e with
            | L1Change.Put entry -> { node with Entries = Map.add key entry node.Entries }
            | L1Change.Drop -> { node with Entries = Map.remove key node.Entries }
            | _ -> node
        | ValueNone -> node
    | L1Change.Keep -> node

let private toAnswer (reply: Reply) =
    match reply with
    | Reply.Value(payload, stale) -> Got(unbox<int> payload, stale)
    | Reply.Error err -> Failed err

let private infinite = Threading.Timeout.InfiniteTimeSpan

let private boxed (dflt: int option) = match dflt with Some v -> ValueSome(box v) | None -> ValueNone

/// The caller's reply from a flight's ending, by its own options, with L1 as the flight left it.
let private replyOf key dflt (ending: Ending) node =
    toAnswer (Flight.replyFor node.Options node.Now (entryOf key node) (boxed dflt) ending)

/// A run's factory ends now with `outcome`: its settlement lands (the run is the key's current flight).
let private settleNow key (run: FactoryRun) (outcome: Outcome) node =
    let s = Flight.settle node.Options node.Now (jitter node.Options) run outcome
    s.Ending, apply key s.Change node

/// A caller whose wait runs out (its own limit) while the key's factory keeps running: its reply, and
/// the fail-safe activation it may store (the flight is current: nothing superseded it).
let private timesOut key dflt (run: FactoryRun) soft node =
    let struct (reply, change) = Flight.timedOut node.Options node.Now (entryOf key node) (boxed dflt) run.StartedAt Origin soft
    toAnswer reply, apply key change node

/// A factory run: plan, then the source. A stalling factory outlives a caller with a time limit: the
/// caller times out, and the run stays the key's flight (`Pending`) when it may complete in the
/// background; a refresh, which nobody waits on, stays pending too unless it has a deadline.
let private fly key refresh source (dflt: int option) node =
    let o = node.Options
    let d = boxed dflt
    let stamp, node = stamped node
    let request =
        { Options = o; Now = node.Now; Timestamp = stamp; Origin = Origin; Refresh = refresh
          Current = entryOf key node; Default = d; HasDistributed = false }
    let seen = entryOf key node
    match Flight.plan request with
    | FlightPlan.Answer(ending, change) ->
        let node = apply key change node
        replyOf key dflt ending node, node
    | FlightPlan.ReadDistributed _ -> failwith "the one-node model has no distributed level"
    | FlightPlan.RunFactory run ->
        let node = { node with FactoryCalls = node.FactoryCalls + 1 }
        let struct (limit, soft) = Flight.waitLimit o node.Now seen d
        let finish outcome =
            let ending, node = settleNow key run outcome node
            replyOf key dflt ending node, node
        match source with
        | Returns v -> finish (Outcome.Succeeded(box v, Validator.none))
        | Fails -> finish (Outcome.Failed(Err.Of "source down"))
        | Throws -> finish (Outcome.Failed(Err.Of(InvalidOperationException "source threw")))
        | Stalls later when refresh ->
            if run.Deadline <> infinite then finish Outcome.TimedOut
            else Done, { node with Pending = node.Pending @ [ key, run, later ] }
        | Stalls later when limit <> infinite ->
            let answer, node = timesOut key dflt run soft node
            // The caller left; with no background completion the factory was cancelled with it.
            let pending = if o.AllowTimedOutFactoryBackgroundCompletion then node.Pending @ [ key, run, later ] else node.Pending
            answer, { node with Pending = pending }
        | Stalls later -> finish (Outcome.Succeeded(box later, Validator.none))

/// A caller that finds the key's factory still running joins it (invariant 10): with a time limit it
/// times out on it; without one it waits for it, so the factory ends now.
let private join key (run: FactoryRun) later dflt node =
    let struct (limit, soft) = Flight.waitLimit node.Options node.Now (entryOf key node) (boxed dflt)
    let others = node.Pending |> List.filter (fun (k, _, _) -> k <> key)
    if limit <> infinite then timesOut key dflt run soft node
    else
        let ending, node = settleNow key run (Outcome.Succeeded(box later, Validator.none)) { node with Pending = others }
        replyOf key dflt ending node, node

/// GetOrSet: a valid hit answers (a RefreshDue one also refreshes, unless the key's factory is
/// already running); anything else joins the running factory, or flies.
let internal get key source dflt node =
    let state e = Entry.classifyFor node.Options.IsFailSafeEnabled node.Now e
    let running = node.Pending |> List.tryFind (fun (k, _, _) -> k = key)
    match entryOf key node, running with
    | ValueSome e, _ when state e = Fresh -> Got(unbox e.Value, e.IsStale), node
    | ValueSome e, Some _ when state e = RefreshDue -> Got(unbox e.Value, e.IsStale), node
    | ValueSome e, None when state e = RefreshDue ->
        let _, node = fly key true source None node
        Got(unbox e.Value, e.IsStale), node
    | _, Some(_, run, later) -> join key run later dflt node
    | _, None -> fly key false source dflt node

/// A write supersedes the key's running factory: its result never lands (SEMANTICS §3.6).
let private supersede key node =
    { node with Pending = node.Pending |> List.filter (fun (k, _, _) -> k <> key) }

let internal step (op: Op) (node: Node) : Answer * Node =
    let o = node.Options
    match op with
    | Advance ms -> Done, { node with Now = node.Now + TimeSpan.FromMilliseconds(float ms).Ticks }
    | Get(key, source, dflt) -> get key source dflt node
    | Set(key, v) ->
        let stamp, node = stamped node
        Done, apply key (L1Change.Put(Lifecycle.written o node.Now (jitter o) stamp Origin (box v))) (supersede key node)
    | Remove key -> Done, supersede key { node with Entries = Map.remove key node.Entries }
    | Expire key -> Done, apply key (L1Change.ExpireAt node.Now) (supersede key node)
    | TryGet key ->
        match entryOf key node with
        | ValueSome e ->
            match Entry.classifyFor false node.Now e with
            | Dead -> Found None, node // a read never deletes (SEMANTICS §3.6)
            | Stale when not o.AllowStaleOnReadOnly -> Found None, node
            | _ -> Found(Some(unbox e.Value)), node
        | ValueNone -> Found None, node
    | CompleteBackground ->
        match node.Pending with
        | (key, run, v) :: rest ->
            let _, node = settleNow key run (Outcome.Succeeded(box v, Validator.none)) { node with Pending = rest }
            Done, node
        | [] -> Done, node
