/// Invariant 13: the recovery merge (`Recovery`, the core's) is exact. For random Set/Remove/Expire
/// sequences of one node on one key, with outage windows during which the operations are queued
/// (merged) and replayed once Redis is back, L2 ends as applying every acknowledged operation in its
/// order would leave it, whatever the order the operations were queued in (concurrent callers queue
/// them out of order); and so does another node's copy, fed the merged notifications.
module Fusion.PropertyTests.RecoveryMerge

open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Fusion.Core

type private Op =
    | Put of Value: int
    | Remove
    | Expire
    /// Time passes (ms).
    | Wait of Millis: int
    /// Redis goes away (operations are queued from now on) or comes back (the queue is replayed).
    | Toggle

let private self = 1L
let private start = System.DateTimeOffset(2030, 1, 1, 0, 0, 0, System.TimeSpan.Zero).UtcTicks
let private minute = System.TimeSpan.FromMinutes(1.0).Ticks
let private tombstone = obj ()

/// L2 as the scripts keep it (RedisScripts): the same guard and effects, on the core's entries.
let private applyL2 (now: int64) (l2: Entry option) (change: L2Change) : Entry option =
    let live = l2 |> Option.filter (fun e -> now < e.PhysicalExpiry)
    let after ts origin = live |> Option.forall (fun c -> Order.notBefore ts origin c.Timestamp c.Origin)
    match change with
    | L2Change.Put e when after e.Timestamp e.Origin -> Some e
    | L2Change.Remove(ts, origin) when after ts origin ->
        Some { Value = tombstone; Timestamp = ts; Origin = origin; LogicalExpiry = ts
               PhysicalExpiry = Ticks.add ts Lifecycle.TombstoneLifetime.Ticks; EagerRefreshAt = Ticks.Never
               IsStale = false; FailSafeCycles = 0; Meta = EntryMeta.none }
    | L2Change.Expire(ts, origin, at) ->
        match live with
        | Some c when Order.notBefore ts origin c.Timestamp c.Origin && at < c.LogicalExpiry -> Some { c with LogicalExpiry = at }
        | _ -> l2
    | _ -> l2

/// Another node's copy, as notifications change it (Lifecycle.applyRemote).
let private applyCopy (now: int64) (copy: Entry option) (notice: Remote) : Entry option =
    let current = match copy with Some e -> ValueSome e | None -> ValueNone
    match Lifecycle.applyRemote now current notice with
    | L1Change.Drop -> None
    | L1Change.Put e -> Some e
    | _ -> copy

/// What a reader sees at `now`: nothing, a removed key, or a value's write and whether it is fresh.
let private observe (now: int64) (e: Entry option) =
    match e with
    | Some e when now < e.PhysicalExpiry ->
        if obj.ReferenceEquals(e.Value, tombstone) then Some("removed", e.Timestamp, false)
        else Some(string e.Value, e.Timestamp, now < e.LogicalExpiry)
    | _ -> None

/// One write of this node at `now`, stamped `ts`: its L2 change and its notification (Commands).
let private command (o: EntryOptions) (now: int64) (ts: int64) (op: Op) : Effects voption =
    match op with
    | Put v -> ValueSome(Commands.set o now ts 0L self true (box v))
    | Remove -> ValueSome(Commands.remove o ts self true)
    | Expire -> ValueSome(Commands.expire o now ts self true)
    | _ -> ValueNone

let private replaces (change: L2Change) = match change with L2Change.Expire _ -> false | _ -> true
let private stampOf (change: L2Change) =
    match change with
    | L2Change.Put e -> e.Timestamp
    | L2Change.Remove(ts, _) | L2Change.Expire(ts, _, _) -> ts
    | _ -> 0L

type private State =
    { Now: int64; Stamp: int64; Up: bool
      /// L2 and the other node's copy: as the direct, in-order application leaves them ...
      RefL2: Entry option; RefCopy: Entry option
      /// ... and as the queue-and-replay path leaves them.
      L2: Entry option; Copy: Entry option
      /// The operations of the current outage, in the order they were acknowledged.
      Outage: (L2Change * Remote voption) list }

let private ops =
    Gen.frequency
        [ 4, Gen.choose (1, 5) |> Gen.map Put
          2, Gen.constant Remove
          3, Gen.constant Expire
          3, Gen.choose (0, 90_000) |> Gen.map Wait
          2, Gen.constant Toggle ]
    |> Gen.listOf

/// Another node's write already in L2 and in the copy, at a random instant around the start.
let private foreign =
    Gen.zip (Gen.choose (-60_000, 60_000)) (Gen.elements [ 0L; 2L ])
    |> Gen.map (fun (offset, origin) ->
        let ts = start + int64 offset * 10_000L
        { Value = box 99; Timestamp = ts; Origin = origin; LogicalExpiry = ts + minute; PhysicalExpiry = ts + 10L * minute
          EagerRefreshAt = Ticks.Never; IsStale = false; FailSafeCycles = 0; Meta = EntryMeta.none })

/// Replays an outage: queued in `order` (a permutation of the acknowledged order), merged, then sent as
/// the runtime sends it (the write, the expire, then their notices).
let private replay (s: State) (order: int list) =
    let queued = order |> List.map (fun i -> s.Outage[i])
    let pending =
        queued |> List.fold (fun p (change, notice) -> Recovery.add (ValueSome(struct (change, replaces change, stampOf change))) notice p) Recovery.empty
    let send l2 (w: L2Change voption) = match w with ValueSome c -> applyL2 s.Now l2 c | ValueNone -> l2
    let tell copy (n: Remote voption) = match n with ValueSome n -> applyCopy s.Now copy n | ValueNone -> copy
    { s with
        L2 = send (send s.L2 pending.Replace) pending.Expire
        Copy = tell (tell s.Copy pending.ReplaceNotice) pending.ExpireNotice
        Outage = [] }

let private run (o: EntryOptions) (initial: Entry) (ops: Op list) (shuffle: int -> int list) =
    let s0 =
        { Now = start; Stamp = 0L; Up = true; RefL2 = Some initial; RefCopy = Some initial; L2 = Some initial; Copy = Some initial; Outage = [] }
    let step (s: State) op =
        match op with
        | Wait ms -> { s with Now = s.Now + int64 ms * 10_000L }
        | Toggle when s.Up -> { s with Up = false }
        | Toggle -> { replay s (shuffle s.Outage.Length) with Up = true }
        | op ->
            let ts = max s.Now (s.Stamp + 1L)
            match command o s.Now ts op with
            | ValueNone -> s
            | ValueSome e ->
                let tell copy = match e.Notify with ValueSome n -> applyCopy s.Now copy n | ValueNone -> copy
                let s = { s with Stamp = ts; RefL2 = applyL2 s.Now s.RefL2 e.Distributed; RefCopy = tell s.RefCopy }
                if s.Up then { s with L2 = applyL2 s.Now s.L2 e.Distributed; Copy = tell s.Copy }
                else { s with Outage = s.Outage @ [ e.Distributed, e.Notify ] }
    // Redis comes back at the end, a moment after the last operation.
    let s = ops |> List.fold step s0
    let s = { s with Now = s.Now + 10_000L }
    let s = if s.Up then s else { replay s (shuffle s.Outage.Length) with Up = true }
    s

let private options =
    gen {
        let! duration = Gen.choose (1, 120_000)
        let! failSafe = Gen.elements [ true; false ]
        return
            { EntryOptions.Default with
                Duration = System.TimeSpan.FromMilliseconds(float duration)
                IsFailSafeEnabled = failSafe
                FailSafeMaxDuration = System.TimeSpan.FromMinutes 10.0 }
    }

let private agree (s: State) =
    let l2, refL2 = observe s.Now s.L2, observe s.Now s.RefL2
    let copy, refCopy = observe s.Now s.Copy, observe s.Now s.RefCopy
    (l2 = refL2 |> Prop.label $"L2: replayed {l2}, in order {refL2}")
    .&. (copy = refCopy |> Prop.label $"other node's copy: notified from the merge {copy}, in order {refCopy}")

[<Property(MaxTest = 2000)>]
let ``13. replaying the merged queue leaves L2 and the other nodes as the operations in order would`` () =
    Prop.forAll (Arb.fromGen (Gen.zip3 options foreign ops)) (fun (o, initial, ops) ->
        agree (run o initial ops (fun n -> List.init n id)))

[<Property(MaxTest = 2000)>]
let ``13. the merge does not depend on the order the operations were queued in`` () =
    let withSeed = Gen.zip (Gen.zip3 options foreign ops) (Gen.choose (0, System.Int32.MaxValue))
    Prop.forAll (Arb.fromGen withSeed) (fun ((o, initial, ops), seed) ->
        let random = System.Random(seed)
        agree (run o initial ops (fun n -> List.init n id |> List.sortBy (fun _ -> random.Next()))))
