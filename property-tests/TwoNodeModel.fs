/// Two nodes sharing one L2 and an in-order notification channel, built only from the pure core
/// (L2 is modelled as Redis with the timestamp-guarded scripts): invariants 8 across L1 and L2, and 9.
module Fusion.PropertyTests.TwoNodeModel

open System
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Fusion
open Fusion.Core

type NodeId =
    | A
    | B

type Op =
    | Advance of Millis: int
    | Get of Node: NodeId * Key: string * Succeeds: bool
    | Set of Node: NodeId * Key: string
    | Remove of Node: NodeId * Key: string
    | Expire of Node: NodeId * Key: string
    /// The oldest message on the channel reaches the other node.
    | Deliver
    /// A slow factory starts on a node (its flight planned now) ...
    | Begin of Node: NodeId * Key: string
    /// ... and the oldest such factory succeeds now, writing what it read when it began.
    | Complete

type internal World =
    { Now: int64
      Options: EntryOptions
      L1: Map<NodeId * string, Entry>
      L2: Map<string, Entry>
      Channel: (NodeId * string * Remote) list
      /// The timestamp of every value ever produced (values are unique).
      Produced: Map<int, int64>
      NextValue: int
      /// Slow factories still running: node, key, run.
      Running: (NodeId * string * FactoryRun) list
      /// Each node's last write stamp (the runtime's hybrid logical clock).
      Stamps: Map<NodeId, int64> }

let private other = function A -> B | B -> A

/// Each node's origin (`Order`): what breaks a tie between their writes stamped in the same tick.
let originOf = function A -> 1L | B -> 2L

/// What an L2 tombstone holds instead of a value (never served: a read of one is a miss).
let private tombstoneValue = obj ()

let private isTombstone (e: Entry) = obj.ReferenceEquals(e.Value, tombstoneValue)

/// L2 as Redis holds it: the scripts' guards, and the time to live.
let private applyL2 (now: int64) key (change: L2Change) (l2: Map<string, Entry>) =
    let live = Map.tryFind key l2 |> Option.filter (fun e -> now < e.PhysicalExpiry)
    match change with
    // The scripts' guard: the order of writes (`Order`), ties between nodes broken by origin.
    | L2Change.Put e when live |> Option.forall (fun c -> Order.notBefore e.Timestamp e.Origin c.Timestamp c.Origin) -> Map.add key e l2
    | L2Change.Remove(ts, origin) when live |> Option.forall (fun c -> Order.notBefore ts origin c.Timestamp c.Origin) ->
        // A tombstone: it outlives the removed value, and its timestamp refuses older writes.
        let until = max (Ticks.add ts Lifecycle.TombstoneLifetime.Ticks) (live |> Option.map (fun c -> c.PhysicalExpiry) |> Option.defaultValue 0L)
        let tombstone =
            { Value = tombstoneValue; Timestamp = ts; Origin = origin; LogicalExpiry = ts; PhysicalExpiry = until
              EagerRefreshAt = Ticks.Never; IsStale = false; FailSafeCycles = 0; Meta = EntryMeta.none }
        Map.add key tombstone l2
    | L2Change.Expire(ts, origin, at) ->
        match live with
        | Some c when Order.notBefore ts origin c.Timestamp c.Origin && at < c.LogicalExpiry -> Map.add key { c with LogicalExpiry = at } l2
        | _ -> l2
    | _ -> l2

let private l1Of node key w = match Map.tryFind (node, key) w.L1 with Some e -> ValueSome e | None -> ValueNone

let private applyL1 node key (change: L1Change) w =
    let put e = { w with L1 = Map.add (node, key) e w.L1 }
    match change with
    | L1Change.Put e -> if Lifecycle.supersedes (l1Of node key w) e then put e else w
    | L1Change.Drop -> { w with L1 = Map.remove (node, key) w.L1 }
    | L1Change.ExpireAt at ->
        match l1Of node key w with
        | ValueSome e ->
            match Lifecycle.expire at e with
            | L1Change.Put e -> put e
            | L1Change.Drop -> { w with L1 = Map.remove (node, key) w.L1 }
            | _ -> w
        | ValueNone -> w
    | L1Change.Keep -> w

let private effects node key (change: L1Change) (l2: L2Change) (notify: Remote voption) w =
    let w = applyL1 node key change w
    let w = { w with L2 = applyL2 w.Now key l2 w.L2 }
    match notify with
    | ValueSome n -> { w with Channel = w.Channel @ [ node, key, n ] }
    | ValueNone -> w

let private fresh w = w.NextValue, { w with NextValue = w.NextValue + 1 }

/// A write's timestamp on a node: now, but after every stamp the node gave or observed.
let private stampOf node w =
    let last = Map.tryFind node w.Stamps |> Option.defaultValue Int64.MinValue
    let ts = max w.Now (last + 1L)
    ts, { w with Stamps = Map.add node ts w.Stamps }

/// A node hears of a timestamp (a notification, an L2 entry): its later stamps come after it.
let private observe node ts w =
    if ts > (Map.tryFind node w.Stamps |> Option.defaultValue Int64.MinValue) then { w with Stamps = Map.add node ts w.Stamps } else w

/// A write on (or heard by) a node supersedes its slow factories of the key that it is newer than: their
/// results never land (SEMANTICS §3.6).
let private supersede node key (write: Write) w =
    { w with Running = w.Running |> List.filter (fun (n, k, run: FactoryRun) -> not (n = node && k = key && Work.supersedes (originOf node) run.StartedAt write)) }

/// A GetOrSet on one node; the answer is the value returned, if any.
let private get node key succeeds w : int option * World =
    let o = w.Options
    let state e = Entry.classifyFor o.IsFailSafeEnabled w.Now e
    match l1Of node key w with
    | ValueSome e when state e = Fresh || state e = RefreshDue -> Some(unbox e.Value), w // (refresh not modelled here)
    | current ->
        let ts, w = stampOf node w
        let request =
            { Options = o; Now = w.Now; Timestamp = ts; Origin = originOf node; Refresh = false
              Current = current; Default = ValueNone; HasDistributed = true }
        // Redis keeps what the fake clock expired; the node observes whatever it reads.
        let w = match Map.tryFind key w.L2 with Some e -> observe node e.Timestamp w | None -> w
        let l2 = Map.tryFind key w.L2 |> Option.filter (fun e -> w.Now < e.PhysicalExpiry && not (isTombstone e))
        let plan =
            match Flight.plan request with
            | FlightPlan.ReadDistributed(run, _, _) ->
                Flight.afterDistributedRead o w.Now run (match l2 with Some e -> ValueSome e | None -> ValueNone)
            | p -> p
        match plan with
        | FlightPlan.Answer(ending, change) when ending.IsValue -> Some(unbox (ending.Payload : obj)), applyL1 node key change w
        | FlightPlan.Answer(_, change) -> None, applyL1 node key change w
        | FlightPlan.RunFactory run ->
            let v, w = fresh w
            let outcome = if succeeds then Outcome.Succeeded(box v, Validator.none) else Outcome.Failed(Err.Of "down")
            let w = if succeeds then { w with Produced = Map.add v run.StartedAt w.Produced } else w
            let s = Flight.settle o w.Now 0L run outcome
            let w = effects node key s.Change s.Distributed s.Notify w
            (match Flight.replyFor o w.Now (l1Of node key w) ValueNone s.Ending with Reply.Value(v, _) -> Some(unbox v) | _ -> None), w
        | FlightPlan.ReadDistributed _ -> failwith "read twice"

let internal step (op: Op) (w: World) : int option * World =
    let o = w.Options
    match op with
    | Advance ms -> None, { w with Now = w.Now + TimeSpan.FromMilliseconds(float ms).Ticks }
    | Get(node, key, succeeds) -> get node key succeeds w
    | Set(node, key) ->
        let v, w = fresh w
        let ts, w = stampOf node w
        let w = { w with Produced = Map.add v ts w.Produced }
        let e = Commands.set o w.Now ts 0L (originOf node) true (box v)
        None, effects node key e.Change e.Distributed e.Notify (supersede node key Write.Local w)
    | Remove(node, key) ->
        let ts, w = stampOf node w
        let w = supersede node key Write.Local w
        let e = Commands.remove o ts (originOf node) true
        None, effects node key e.Change e.Distributed e.Notify w
    | Expire(node, key) ->
        let ts, w = stampOf node w
        let e = Commands.expire o w.Now ts (originOf node) true
        None, effects node key e.Change e.Distributed e.Notify (supersede node key Write.Local w)
    | Deliver ->
        match w.Channel with
        | (sender, key, notice) :: rest ->
            let receiver = other sender
            let w = observe receiver (Lifecycle.timestampOf notice) w
            let w = supersede receiver key (Write.Remote(Lifecycle.timestampOf notice, Lifecycle.originOf notice)) w
            let change = Lifecycle.applyRemote w.Now (l1Of receiver key w) notice
            None, applyL1 receiver key change { w with Channel = rest }
        | [] -> None, w
    | Begin(node, key) ->
        let ts, w = stampOf node w
        let request =
            { Options = o; Now = w.Now; Timestamp = ts; Origin = originOf node; Refresh = false
              Current = l1Of node key w; Default = ValueNone; HasDistributed = true }
        match Flight.plan request with
        | FlightPlan.ReadDistributed(run, _, _)
        | FlightPlan.RunFactory run -> None, { w with Running = w.Running @ [ node, key, run ] }
        | FlightPlan.Answer _ -> None, w
    | Complete ->
        match w.Running with
        | (node, key, run) :: rest ->
            let v, w = fresh { w with Running = rest }
            let w = { w with Produced = Map.add v run.StartedAt w.Produced }
            let s = Flight.settle o w.Now 0L run (Outcome.Succeeded(box v, Validator.none))
            None, effects node key s.Change s.Distributed s.Notify w
        | [] -> None, w

/// Requests on two nodes; `withChannel` adds explicit deliveries and slow factories (the pure
/// model only: the runtime test delivers after every step and has no slow factories).
let requests (withChannel: bool) =
    let node = Gen.elements [ A; B ]
    let key = Gen.elements [ "a"; "b" ]
    let channel = if withChannel then 1 else 0
    Gen.frequency
        [ 3, Gen.oneof [ Gen.choose (0, 1_000); Gen.choose (0, 60_000) ] |> Gen.map Advance
          5, Gen.map3 (fun n k s -> Get(n, k, s)) node key (Gen.frequency [ 3, Gen.constant true; 1, Gen.constant false ])
          2, Gen.map2 (fun n k -> Set(n, k)) node key
          1, Gen.map2 (fun n k -> Remove(n, k)) node key
          1, Gen.map2 (fun n k -> Expire(n, k)) node key
          4 * channel, Gen.constant Deliver
          channel, Gen.map2 (fun n k -> Begin(n, k)) node key
          channel, Gen.constant Complete ]
    |> Gen.listOf

let private ops = requests true

let private scenario =
    let shrink (o, list: Op list) = seq { for i in 0 .. list.Length - 1 -> o, List.removeAt i list }
    Arb.fromGenShrink (Gen.zip (Generators.options false) ops, shrink)

let internal start o =
    { Now = DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks; Options = o; L1 = Map.empty; L2 = Map.empty
      Channel = []; Produced = Map.empty; NextValue = 1; Running = []; Stamps = Map.empty }

[<Property(MaxTest = 1000)>]
let ``8. across L1 and L2, an older result never overwrites a newer one`` () =
    Prop.forAll scenario (fun (o, ops) ->
        // Against what was there and alive: Redis forgets a value at its physical expiry.
        let notOlder now (before: Map<'k, Entry>) (after: Map<'k, Entry>) =
            after
            |> Map.forall (fun k e ->
                match Map.tryFind k before with
                | Some b when now < b.PhysicalExpiry -> e.Timestamp >= b.Timestamp
                | _ -> true)
        ops
        |> List.fold (fun (ok, w) op ->
            let _, next = step op w
            ok && notOlder next.Now w.L1 next.L1 && notOlder next.Now w.L2 next.L2, next) (true, start o)
        |> fst)

[<Property(MaxTest = 1000)>]
let ``9. once a Set's notification is delivered, the other node never returns an older value`` () =
    Prop.forAll scenario (fun (o, ops) ->
        // Per (node, key): the newest Set whose notification that node has received, while that
        // value lives in L2 (L2 keeps no tombstones: once it expires, a slow flight that began
        // before it may write its older result again; docs/semantics.md says so).
        let folder (ok, floors: Map<NodeId * string, int64 * int64>, w) op =
            let answer, next = step op w
            let ok =
                match op, answer with
                | Get(node, key, _), Some v ->
                    match Map.tryFind (node, key) floors with
                    | Some(floor, until) when w.Now < until -> ok && Map.find v next.Produced >= floor
                    | _ -> ok
                | _ -> ok
            let floors =
                match op, w.Channel with
                | Deliver, (sender, key, Remote.Set(ts, _)) :: _ ->
                    match Map.tryFind key w.L2 with
                    | Some e when e.Timestamp = ts && w.Now < e.PhysicalExpiry ->
                        Map.add (other sender, key) (ts, e.PhysicalExpiry) floors
                    | _ -> floors
                | _ -> floors
            ok, floors, next
        let ok, _, _ = ops |> List.fold folder (true, Map.empty, start o)
        ok)
