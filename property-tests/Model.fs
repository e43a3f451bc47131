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

type Node =
    { Now: int64
      Options: EntryOptions
      Entries: Map<string, Entry>
      FactoryCalls: int
      /// The node's write sequence: increasing, as the shell's (its write stamps) is.
      Sequence: int64
      /// Timed-out runs whose factory keeps going: key, run, the value it will produce.
      Pending: (string * FactoryRun * int) list }

let create (options: EntryOptions) (start: int64) =
    { Now = start; Options = options; Entries = Map.empty; FactoryCalls = 0; Sequence = 0L; Pending = [] }

let entryOf key node : Entry voption =
    match Map.tryFind key node.Entries with
    | Some e -> ValueSome e
    | None -> ValueNone

/// The shell's jitter draw, fixed at its largest so the model explores the widest lifetimes.
let jitter (o: EntryOptions) = max 0L (o.JitterMaxDuration.Ticks - 1L)

/// The shell's write: `Put` lands only if it supersedes (invariant 8).
let apply key (change: L1Change) node =
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

/// The outcome the source produces for a run (Stalls becomes the timeout that applies, if any).
let private outcomeOf (run: FactoryRun) (source: Source) =
    let infinite = Threading.Timeout.InfiniteTimeSpan
    match source with
    | Returns v -> Outcome.Succeeded(box v), None
    | Fails -> Outcome.Failed(Err.Of "source down"), None
    | Throws -> Outcome.Failed(Err.Of(InvalidOperationException "source threw")), None
    | Stalls later ->
        let soft = run.SoftTimeout <> infinite && (run.HardTimeout = infinite || run.SoftTimeout < run.HardTimeout)
        if soft then Outcome.SoftTimedOut, Some later
        elif run.HardTimeout <> infinite then Outcome.HardTimedOut, Some later
        else Outcome.Succeeded(box later), None

/// A factory run: plan, outcome, settlement, write; a timed-out run may stay pending.
let private fly key refresh source (dflt: int option) node =
    let o = node.Options
    let d = match dflt with Some v -> ValueSome(box v) | None -> ValueNone
    let node = { node with Sequence = node.Sequence + 1L }
    let request =
        { Options = o; Now = node.Now; Timestamp = node.Now; Sequence = node.Sequence; Refresh = refresh
          Current = entryOf key node; Default = d; HasDistributed = false }
    match Flight.plan request with
    | FlightPlan.Answer(reply, change) -> toAnswer reply, apply key change node
    | FlightPlan.ReadDistributed _ -> failwith "the one-node model has no distributed level"
    | FlightPlan.RunFactory run ->
        let outcome, later = outcomeOf run source
        let s = Flight.settle o node.Now (jitter o) run outcome
        let node = apply key s.Change { node with FactoryCalls = node.FactoryCalls + 1 }
        let pending =
            match later with
            | Some v when s.KeepFactoryRunning -> node.Pending @ [ key, run, v ]
            | _ -> node.Pending
        toAnswer s.Reply, { node with Pending = pending }

/// GetOrSet: a valid hit answers (a RefreshDue one also refreshes); anything else flies.
let get key source dflt node =
    let state e = Entry.classifyFor node.Options.IsFailSafeEnabled node.Now e
    match entryOf key node with
    | ValueSome e when state e = Fresh -> Got(unbox e.Value, e.IsStale), node
    | ValueSome e when state e = RefreshDue ->
        let _, node = fly key true source None node
        Got(unbox e.Value, e.IsStale), node
    | _ -> fly key false source dflt node

let step (op: Op) (node: Node) : Answer * Node =
    let o = node.Options
    match op with
    | Advance ms -> Done, { node with Now = node.Now + TimeSpan.FromMilliseconds(float ms).Ticks }
    | Get(key, source, dflt) -> get key source dflt node
    | Set(key, v) ->
        let node = { node with Sequence = node.Sequence + 1L }
        Done, apply key (L1Change.Put(Lifecycle.written o node.Now (jitter o) node.Now node.Sequence (box v))) node
    | Remove key -> Done, { node with Entries = Map.remove key node.Entries }
    | Expire key ->
        match entryOf key node with
        | ValueSome e -> Done, apply key (Lifecycle.expire node.Now e) node
        | ValueNone -> Done, node
    | TryGet key ->
        match entryOf key node with
        | ValueSome e ->
            match Entry.classifyFor false node.Now e with
            | Dead -> Found None, { node with Entries = Map.remove key node.Entries }
            | Stale when not o.AllowStaleOnReadOnly -> Found None, node
            | _ -> Found(Some(unbox e.Value)), node
        | ValueNone -> Found None, node
    | CompleteBackground ->
        match node.Pending with
        | (key, run, v) :: rest ->
            let settlement = Flight.completedInBackground o node.Now (jitter o) run (box v)
            Done, apply key settlement.Change { node with Pending = rest }
        | [] -> Done, node
