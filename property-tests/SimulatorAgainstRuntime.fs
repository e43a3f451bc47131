/// The simulator agrees with the runtime: random scripts of overlapping requests, run by `Simulator` and by a real
/// `FusionCache` on a fake clock that the test advances event by event. After every event of the simulation the
/// runtime must be in the same state (the same callers answered, the same source calls, the same flights in its
/// table, the same L1 entries, clocks included), and at the end every caller must have got the same answer.
module Fusion.PropertyTests.SimulatorAgainstRuntime

open System
open System.Collections.Generic
open System.Threading
open System.Threading.Tasks
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Microsoft.Extensions.Time.Testing
open Fusion
open Fusion.Core
open Fusion.Runtime
open Fusion.Simulation

let private ms (n: int) = TimeSpan.FromMilliseconds(float n)
let private infinite = Timeout.InfiniteTimeSpan

// What the generator leaves out, and why (the runtime side must be deterministic):
// - Jitter: the runtime draws it from Random.Shared, which a test cannot seed; scripts have none.
// - Ties between timed events: when a source's completion and a caller's timeout fall on the same tick, the
//   runtime's outcome depends on which thread-pool continuation runs first. So no two timed events share an
//   instant: a request arrives at a whole number of 10 ms plus its index in ticks (arrivals are distinct, and so
//   are the deadlines of different callers), latencies are 10 k + 5 ms, timeouts 10 k ms (a caller's deadline is
//   never its own flight's completion).
// - Requests at the very same instant: overlapping ones are one tick apart instead (the simulator orders
//   same-instant requests by script order; the test could not make the runtime's thread pool do the same).
// - Nothing else: eager refreshes (started on the thread pool: the test waits until their timers are started, see
//   CountingClock), timeouts with and without background completion, fail-safe defaults, Set/Remove/Expire during
//   a flight, TryGet, per-call options (SkipMemoryCacheRead/Write included) are all generated.
// The run is seeded (Replay): the same 300 scripts every time. Unseeded, with MaxTest = 1500, it ran 4 × 1,500 random
// scripts (two of them with the skip flags) without a disagreement.
let private timeout = Gen.frequency [ 1, Gen.constant infinite; 2, Gen.choose (1, 60) |> Gen.map (fun k -> ms (10 * k)) ]
let private latency = Gen.frequency [ 1, Gen.constant TimeSpan.Zero; 3, Gen.choose (0, 60) |> Gen.map (fun k -> ms (10 * k + 5)) ]

let private options: Gen<EntryOptions> =
    gen {
        let! duration = Gen.choose (0, 3_000)
        let! failSafe = Gen.elements [ true; false ]
        let! failSafeMax = Gen.choose (0, 10_000)
        let! throttle = Gen.choose (0, 2_000)
        let! cycles = Gen.frequency [ 1, Gen.constant Int32.MaxValue; 2, Gen.choose (0, 3) ]
        let! soft = timeout
        let! hard = timeout
        let! background = Gen.elements [ true; false ]
        let! eager = Gen.frequency [ 2, Gen.constant ValueNone; 1, Gen.choose (1, 99) |> Gen.map (fun p -> ValueSome(float p / 100.0)) ]
        let! staleOnRead = Gen.elements [ true; false ]
        return
            { EntryOptions.Default with
                Duration = ms duration
                IsFailSafeEnabled = failSafe
                FailSafeMaxDuration = ms failSafeMax
                FailSafeThrottleDuration = ms throttle
                MaxFailSafeCycles = cycles
                FactorySoftTimeout = soft
                FactoryHardTimeout = hard
                AllowTimedOutFactoryBackgroundCompletion = background
                EagerRefreshThreshold = eager
                AllowStaleOnReadOnly = staleOnRead }
    }

let private response: Gen<SourceResponse> =
    Gen.frequency
        [ 4, latency |> Gen.map SourceResponse.Returns
          2, latency |> Gen.map (fun l -> SourceResponse.Fails(l, "source down"))
          1, latency |> Gen.map (fun l -> SourceResponse.Throws(l, "source threw")) ]

let private source: Gen<Source> =
    gen {
        let! normally = response
        let! windows =
            Gen.listOfLength 2 (Gen.map3 (fun a b r -> { From = ms (10 * a); Until = ms (10 * (a + b)); Response = r }) (Gen.choose (0, 300)) (Gen.choose (1, 200)) response)
        let! n = Gen.choose (0, 2)
        return { Normally = normally; Windows = List.truncate n windows }
    }

let private key = Gen.elements [ "a"; "b" ]

/// A request with its arrival in whole 10 ms steps; the ticks of its index are added when the script is made.
type private Planned = { Step: int; Request: Request }

let private request: Gen<Request> =
    let skips (o: EntryOptions) =
        Gen.frequency [ 6, Gen.constant o
                        1, Gen.constant { o with SkipMemoryCacheRead = true }
                        1, Gen.constant { o with SkipMemoryCacheWrite = true } ]
    let perCall = Gen.frequency [ 3, Gen.constant None; 1, options |> Gen.bind skips |> Gen.map Some ]
    Gen.frequency
        [ 8, Gen.map3 (fun k o d -> Request.GetOrSet(k, o, (if d then Some -1 else None))) key perCall (Gen.elements [ true; false; false ])
          1, Gen.map2 (fun k v -> Request.Set(k, 1_000 + v, None)) key (Gen.choose (0, 999))
          1, key |> Gen.map Request.Remove
          1, key |> Gen.map Request.Expire
          1, Gen.map2 (fun k o -> Request.TryGet(k, o)) key perCall ]

/// The plan of a script: options, sources of "a" and "b", requests with their steps (gaps of 0 to 50 × 10 ms:
/// many overlap a running source).
type private Plan = { Options: EntryOptions; A: Source; B: Source; Requests: Planned list }

let private plan: Gen<Plan> =
    gen {
        let! o = options
        let! a = source
        let! b = source
        let! n = Gen.choose (1, 25)
        let! gaps = Gen.listOfLength n (Gen.frequency [ 2, Gen.constant 0; 3, Gen.choose (0, 10); 2, Gen.choose (0, 50) ])
        let! requests = Gen.listOfLength n request
        let steps = gaps |> List.scan (+) 0 |> List.tail
        return { Options = o; A = a; B = b; Requests = List.map2 (fun s r -> { Step = s; Request = r }) steps requests }
    }

let private scriptOf (p: Plan) : Script =
    p.Requests
    |> List.mapi (fun i r -> i, r)
    |> List.fold (fun s (i, r) -> Script.at (ms (10 * r.Step) + TimeSpan(int64 i)) r.Request s)
        (Script.create p.Options |> Script.withSource "a" p.A |> Script.withSource "b" p.B)

let private shrinkPlan (p: Plan) : Plan seq =
    seq {
        for i in 0 .. p.Requests.Length - 1 do
            if p.Requests.Length > 1 then yield { p with Requests = List.removeAt i p.Requests }
    }

/// The runtime's answer in the simulator's terms.
let private answerOf (request: Request) (result: obj) : Answer =
    match request, result with
    | Request.GetOrSet _, (:? LanguageExt.Either<Err, int> as e) -> (match e.Case with :? int as v -> Answer.Got(v, false) | :? Err as err -> Answer.Failed err | other -> failwith $"bottom: {other}")
    | Request.TryGet _, (:? LanguageExt.Option<int> as o) -> Answer.Found(match o.Case with :? int as v -> Some v | _ -> None)
    | _ -> Answer.Done

/// Whether two answers agree: the same value (the runtime does not say whether it was stale), or the same error.
let private agree (simulated: Answer) (actual: Answer) =
    match simulated, actual with
    | Answer.Got(a, _), Answer.Got(b, _) -> a = b
    | Answer.Failed a, Answer.Failed b -> a.Message = b.Message
    | a, b -> a = b

let private describe (e: Entry voption) =
    match e with
    | ValueSome e -> $"{e.Value} ts={e.Timestamp % 100_000_000L} le={e.LogicalExpiry % 100_000_000L} pe={e.PhysicalExpiry % 100_000_000L} er={(if e.EagerRefreshAt = Int64.MaxValue then -1L else e.EagerRefreshAt % 100_000_000L)} stale={e.IsStale} cycles={e.FailSafeCycles}"
    | ValueNone -> "none"

let private sameEntry (a: Entry voption) (b: Entry voption) =
    match a, b with
    | ValueNone, ValueNone -> true
    | ValueSome x, ValueSome y ->
        unbox<int> x.Value = unbox<int> y.Value && x.Timestamp = y.Timestamp && x.Origin = y.Origin
        && x.LogicalExpiry = y.LogicalExpiry && x.PhysicalExpiry = y.PhysicalExpiry && x.EagerRefreshAt = y.EagerRefreshAt
        && x.IsStale = y.IsStale && x.FailSafeCycles = y.FailSafeCycles
    | _ -> false

/// A fake clock that counts the timers started on it: an eager refresh starts its source's latency (and its
/// deadline) on the thread pool, and the test must not move the clock before they are started.
type private CountingClock(start: DateTimeOffset) =
    inherit FakeTimeProvider(start)
    let mutable timers = 0
    member _.Timers = Volatile.Read(&timers)
    override _.CreateTimer(callback, state, dueTime, period) =
        Interlocked.Increment(&timers) |> ignore
        base.CreateTimer(callback, state, dueTime, period)

/// Runs `script` on the simulator and on a real cache driven event by event; the first disagreement, if any.
let internal compare (script: Script) : string option =
    let snapshots = List<Snapshot>()
    let simulated = Simulator.runWith Simulator.DefaultOrigin (ValueSome snapshots.Add) script
    let fake = CountingClock(Simulator.epoch)
    // The node's origin is drawn from its instance id; a fixed one (the simulator's) makes ties between writes
    // stamped in the same tick (a timed-out caller's default value and its flight's result) come out the same way.
    use cache =
        FusionCacheBuilder()
            .WithTimeProvider(fake)
            .WithClock(fun _ -> Clock(fake, Simulator.DefaultOrigin))
            .WithDefaultEntryOptions(FusionCacheEntryOptions.Of script.Options)
            .Build()
    if cache.Defaults <> script.Options then failwith "the cache's defaults are not the script's options"
    let requests = script.Requests |> List.toArray
    let keys = requests |> Array.map (fun r -> r.Request.Key) |> Array.distinct
    let mutable calls = 0
    let perKey = Dictionary<string, int>()
    let factory (key: string) =
        let source = script.Sources |> Map.tryFind key |> Option.defaultValue script.DefaultSource
        Func<FactoryContext<int>, Task<LanguageExt.Either<Err, int>>>(fun _ ->
            let n =
                lock perKey (fun () ->
                    let n = (match perKey.TryGetValue key with | true, n -> n | _ -> 0) + 1
                    perKey[key] <- n
                    n)
            Interlocked.Increment(&calls) |> ignore
            let at = fake.GetUtcNow() - Simulator.epoch
            let after (latency: TimeSpan) (result: unit -> LanguageExt.Either<Err, int>) =
                if latency = TimeSpan.Zero then Task.FromResult(result ())
                else
                    task {
                        do! Task.Delay(latency, fake)
                        return result ()
                    }
            let result =
                match Source.responseAt at source with
                | SourceResponse.Returns l -> after l (fun () -> LanguageExt.Either<Err, int>.Right n)
                | SourceResponse.Fails(l, m) -> after l (fun () -> LanguageExt.Either<Err, int>.Left(Err.Of(m: string)))
                | SourceResponse.Throws(l, m) -> after l (fun () -> raise (InvalidOperationException m))
            result)
    let optionsOf (o: EntryOptions option) = match o with Some o -> FusionCacheEntryOptions.Of o | None -> null
    let issued = Dictionary<int, Task<Answer>>()
    let issue (i: int) =
        let r = requests[i].Request
        let t: Task<Answer> =
            match r with
            | Request.GetOrSet(k, o, Some d) ->
                cache.GetOrSet(k, factory k, LanguageExt.Option<int>.Some d, optionsOf o).AsTask().ContinueWith((fun (t: Task<LanguageExt.Either<Err, int>>) -> answerOf r (box t.Result)), TaskContinuationOptions.ExecuteSynchronously)
            | Request.GetOrSet(k, o, None) ->
                cache.GetOrSet(k, factory k, optionsOf o).AsTask().ContinueWith((fun (t: Task<LanguageExt.Either<Err, int>>) -> answerOf r (box t.Result)), TaskContinuationOptions.ExecuteSynchronously)
            | Request.Set(k, v, o) -> cache.Set(k, v, optionsOf o).AsTask().ContinueWith((fun (_: Task) -> Answer.Done), TaskContinuationOptions.ExecuteSynchronously)
            | Request.Remove k -> cache.Remove(k).AsTask().ContinueWith((fun (_: Task) -> Answer.Done), TaskContinuationOptions.ExecuteSynchronously)
            | Request.Expire k -> cache.Expire(k).AsTask().ContinueWith((fun (_: Task) -> Answer.Done), TaskContinuationOptions.ExecuteSynchronously)
            | Request.TryGet(k, o) ->
                cache.TryGet<int>(k, optionsOf o).AsTask().ContinueWith((fun (t: Task<LanguageExt.Option<int>>) -> answerOf r (box t.Result)), TaskContinuationOptions.ExecuteSynchronously)
        issued[i] <- t
    let state () =
        let answered = issued |> Seq.filter (fun kv -> kv.Value.IsCompleted) |> Seq.map (fun kv -> kv.Key) |> Set.ofSeq
        let entries = keys |> Array.map (fun k -> k, cache.Memory.Get k)
        answered, Volatile.Read(&calls), cache.InFlightCount, entries, fake.Timers
    let matches (s: Snapshot) =
        let answered, calls, inFlight, entries, timers = state ()
        answered = s.Answered && calls = s.Calls && inFlight = s.InFlight && timers = s.Timers
        && entries |> Array.forall (fun (k, e) -> sameEntry (match Map.tryFind k s.Entries with Some x -> ValueSome x | None -> ValueNone) e)
    let mutable failure = None
    let mutable n = 0
    while failure.IsNone && n < snapshots.Count do
        let s = snapshots[n]
        let target = Simulator.epoch + s.Time
        if target > fake.GetUtcNow() then fake.Advance(target - fake.GetUtcNow())
        match s.Arrival with
        | ValueSome i -> issue i
        | ValueNone -> ()
        // The runtime's continuations run on the thread pool: wait until it has caught up with the simulation.
        if not (SpinWait.SpinUntil((fun () -> matches s), 5_000)) then
            let answered, calls, inFlight, entries, timers = state ()
            let simEntries = keys |> Array.map (fun k -> k, (match Map.tryFind k s.Entries with Some x -> ValueSome x | None -> ValueNone))
            failure <-
                Some(
                    $"after event {n} at {s.Time.TotalMilliseconds} ms (arrival {s.Arrival}):\n"
                    + $"  simulator: answered %A{Set.toList s.Answered}, calls {s.Calls}, timers {s.Timers}, flights {s.InFlight}, L1 %A{simEntries |> Array.map (fun (k, e) -> k, describe e)}\n"
                    + $"  runtime:   answered %A{Set.toList answered}, calls {calls}, timers {timers}, flights {inFlight}, L1 %A{entries |> Array.map (fun (k, e) -> k, describe e)}")
        n <- n + 1
    match failure with
    | Some _ -> failure
    | None ->
        simulated.Answers
        |> List.tryPick (fun a ->
            let actual = issued[a.Index].Result
            if agree a.Answer actual then None
            else Some $"request {a.Index} ({a.Request} at {a.At.TotalMilliseconds} ms): simulator {a.Answer}, runtime {actual}")

[<Property(MaxTest = 300, Replay = "(20261201,13)")>]
let ``the simulator agrees with the runtime on random scripts of overlapping requests`` () =
    Prop.forAll (Arb.fromGenShrink (plan, shrinkPlan)) (fun p ->
        let script = scriptOf p
        match compare script with
        | None -> true |> Prop.label "agreed"
        | Some why -> false |> Prop.label why)

/// The generator does produce what the comparison is about: overlapping callers, timeouts, fail-safe.
[<Fact>]
let ``the generated scripts overlap callers and time them out`` () =
    let plans = Gen.sampleWithSeed (Rnd(20261201UL, 13UL)) 30 200 plan
    let results = plans |> Array.map (fun p -> Simulator.run (scriptOf p))
    let joined = results |> Array.sumBy (fun r -> r.Answers |> List.filter (fun a -> a.AnsweredAt > a.At) |> List.length)
    let timedOut = results |> Array.sumBy (fun r -> r.Answers |> List.filter (fun a -> match a.Answer with Answer.Failed(Err.FactoryTimedOut _) -> true | _ -> false) |> List.length)
    let stale = results |> Array.sumBy (fun r -> r.Answers |> List.filter (fun a -> match a.Answer with Answer.Got(_, true) -> true | _ -> false) |> List.length)
    let refreshes = results |> Array.sumBy (fun r -> r.SourceCalls |> List.filter (fun c -> c.IsRefresh) |> List.length)
    Assert.True(joined > 100 && timedOut > 10 && stale > 10 && refreshes > 5, $"waited {joined}, timed out {timedOut}, stale {stale}, refreshes {refreshes}")
