/// SEMANTICS §5 invariants 1–5 and 8, on the pure core through the reference model.
module Fusion.PropertyTests.CoreInvariants

open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Fusion
open Fusion.Core
open Fusion.PropertyTests.Model

/// One request as it happened: the node before, the request, the answer, the node after.
type internal Step = { Before: Node; Op: Op; Answer: Answer; After: Node }

let private trace (options: EntryOptions) (ops: Op list) : Step list =
    let start = System.DateTimeOffset(2030, 1, 1, 0, 0, 0, System.TimeSpan.Zero).UtcTicks
    ops
    |> List.mapFold (fun node op ->
        let answer, after = step op node
        { Before = node; Op = op; Answer = answer; After = after }, after) (create options start)
    |> fst

let private scenario =
    Arb.fromGenShrink (Gen.zip (Generators.options true) (Generators.ops true), fun (o, ops) -> Generators.shrinkOps ops |> Seq.map (fun s -> o, s))

/// Checks `holds` on every step of every random scenario; the failing step is the label.
let private everyStep (holds: Step -> bool) =
    Prop.forAll scenario (fun (options, ops) ->
        trace options ops
        |> List.tryFind (holds >> not)
        |> function
            | None -> true |> Prop.ofTestable
            | Some s -> false |> Prop.label $"fails at {s.Op} -> {s.Answer}; before: %A{s.Before.Entries}")

/// The values this request itself brought (factory result, fail-safe default), or the factory it joined
/// (the key's factory still running, invariant 10): not read from the cache.
let private ownValues (s: Step) =
    match s.Op with
    | Get(key, source, dflt) ->
        let joined = s.Before.Pending |> List.choose (fun (k, _, later) -> if k = key then Some later else None)
        (match source with Returns v | Stalls v -> [ v ] | _ -> []) @ Option.toList dflt @ joined
    | _ -> []

let private cached (s: Step) key = Map.tryFind key s.Before.Entries

[<Property(MaxTest = 400)>]
let ``1. a value is never returned after its physical expiry`` () =
    everyStep (fun s ->
        match s.Op, s.Answer with
        | Get(key, _, _), Got(v, _) when not (List.contains v (ownValues s)) ->
            match cached s key with
            | Some e -> unbox<int> e.Value = v && s.Before.Now < e.PhysicalExpiry
            | None -> false
        | TryGet key, Found(Some v) ->
            match cached s key with
            | Some e -> unbox<int> e.Value = v && s.Before.Now < e.PhysicalExpiry
            | None -> false
        | _ -> true)

[<Property(MaxTest = 400)>]
let ``2. a fresh entry is returned without calling the factory`` () =
    everyStep (fun s ->
        match s.Op with
        | Get(key, _, _) ->
            match cached s key with
            | Some e when Entry.classify s.Before.Now e = Fresh ->
                s.After.FactoryCalls = s.Before.FactoryCalls && s.Answer = Got(unbox e.Value, e.IsStale)
            | _ -> true
        | _ -> true)

[<Property(MaxTest = 400)>]
let ``3. with fail-safe off a stale value is never returned`` () =
    everyStep (fun s ->
        match s.Op, s.Answer with
        | Get(key, _, _), Got(v, stale) when not s.Before.Options.IsFailSafeEnabled ->
            not stale
            && (List.contains v (ownValues s)
                || (match cached s key with
                    | Some e -> unbox<int> e.Value = v && s.Before.Now < e.LogicalExpiry
                    | None -> false))
        | _ -> true)

[<Property(MaxTest = 400)>]
let ``4. logical expiry never passes physical expiry`` () =
    everyStep (fun s -> s.After.Entries |> Map.forall (fun _ e -> e.LogicalExpiry <= e.PhysicalExpiry))

[<Property(MaxTest = 400)>]
let ``5. fail-safe activations without a success never exceed MaxFailSafeCycles`` () =
    everyStep (fun s ->
        let max = s.Before.Options.MaxFailSafeCycles
        let bounded = s.After.Entries |> Map.forall (fun _ e -> e.FailSafeCycles <= max)
        // An activation from a factory run happens only while a cycle is left.
        let allowed =
            match s.Op, s.Answer with
            | Get(key, _, _), Got(_, true) when s.After.FactoryCalls > s.Before.FactoryCalls ->
                match cached s key with
                | Some e when Entry.classify s.Before.Now e = Stale -> e.FailSafeCycles < max
                | _ -> true
            | _ -> true
        bounded && allowed)

[<Property(MaxTest = 400)>]
let ``8. an older result never overwrites a newer one`` () =
    everyStep (fun s ->
        s.After.Entries
        |> Map.forall (fun key e ->
            match cached s key with
            | Some before -> e.Timestamp >= before.Timestamp
            | None -> true))

[<Property(MaxTest = 200)>]
let ``errors are never cached: a failed read leaves no entry that was not there`` () =
    everyStep (fun s ->
        match s.Op, s.Answer with
        | Get(key, _, _), Failed _ -> Map.tryFind key s.After.Entries |> Option.forall (fun e -> Some e = cached s key)
        | _ -> true)

/// The hit path answers "fresh" with `Entry.isFreshFor` and only asks `classifyFor` otherwise: the two
/// must agree on every entry of every scenario, at every instant around the entry's deadlines.
[<Property(MaxTest = 200)>]
let ``the hit path's fresh check agrees with the full classification`` () =
    everyStep (fun s ->
        s.After.Entries
        |> Map.forall (fun _ e ->
            [ e.EagerRefreshAt; e.LogicalExpiry; e.PhysicalExpiry; s.After.Now ]
            |> List.filter (fun t -> t <> Ticks.Never)
            |> List.collect (fun t -> [ t - 1L; t; t + 1L ])
            |> List.forall (fun now ->
                [ true; false ]
                |> List.forall (fun failSafe ->
                    Entry.isFreshFor failSafe now e = (Entry.classifyFor failSafe now e = Fresh)))))
