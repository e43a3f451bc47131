/// Model-based test of the distributed level: two runtime nodes sharing a real redis-server, driven
/// step by step on one fake clock, answer every request as the two-node model built from the core
/// does. Each write's notification is awaited before the next step: an in-order channel.
module Fusion.PropertyTests.TwoNodesAgainstModel

open System
open System.Threading
open System.Threading.Tasks
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open LanguageExt
open Microsoft.Extensions.Time.Testing
open Fusion
open Fusion.Core
open Fusion.Tests.Redis.Support
open Fusion.PropertyTests.TwoNodeModel

/// One redis-server for every scenario of this module; each scenario has a cache name of its own.
let private server = lazy (RedisServer.StartAsync().GetAwaiter().GetResult())

type private Nodes =
    { A: FusionCache
      B: FusionCache
      Clock: FakeTimeProvider
      mutable Calls: int }

    member n.Of id = match id with A -> n.A | B -> n.B
    interface IDisposable with
        member n.Dispose() = n.A.Dispose(); n.B.Dispose()

/// The Redis level of a node (the C# extension property `Distributed` is not visible from F#).
let private redisOf (c: FusionCache) = c.Level2 :?> Fusion.Distributed.DistributedLevel

let private build (o: EntryOptions) =
    let clock = FakeTimeProvider(DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero))
    let name = "model-" + Guid.NewGuid().ToString("N")
    let node () =
        FusionCacheBuilder()
            .WithRedis(server.Value.ConnectionString(), name)
            .WithTimeProvider(clock)
            .WithDefaultEntryOptions(
                FusionCacheEntryOptions(
                    Duration = o.Duration, IsFailSafeEnabled = o.IsFailSafeEnabled, FailSafeMaxDuration = o.FailSafeMaxDuration,
                    FailSafeThrottleDuration = o.FailSafeThrottleDuration, MaxFailSafeCycles = o.MaxFailSafeCycles,
                    AllowStaleOnReadOnly = o.AllowStaleOnReadOnly, AllowBackgroundBackplaneOperations = false))
            .Build()
    let a, b = node (), node ()
    // Both connected and subscribed to the backplane before the first step: a node that is connected but
    // not yet subscribed misses the other's notifications (seen under load, with a fixed 50 ms pause).
    if not (SpinWait.SpinUntil((fun () -> (redisOf a).IsReady && (redisOf b).IsReady), 30_000)) then
        failwith "the two nodes did not connect and subscribe within 30 s"
    { A = a; B = b; Clock = clock; Calls = 0 }

let private applied (c: FusionCache) =
    let backplane = (redisOf c).Backplane
    Interlocked.Read(&backplane.Applied)

/// Runs one request on the runtime nodes; the answer in the model's terms.
let private run (nodes: Nodes) (value: int) (op: Op) : int option =
    let factory succeeds =
        Func<Task<Either<Err, int>>>(fun () ->
            nodes.Calls <- nodes.Calls + 1
            Task.FromResult(if succeeds then Either<Err, int>.Right value else Either<Err, int>.Left(Err.Of "down")))
    match op with
    | Advance ms -> nodes.Clock.Advance(TimeSpan.FromMilliseconds(float ms)); None
    | Get(node, key, succeeds) ->
        let result = (nodes.Of node).GetOrSet(key, factory succeeds).AsTask().Result
        result.Match(Right = (fun v -> [ v ]), Left = (fun _ -> [])) |> List.tryHead
    | Set(node, key) -> (nodes.Of node).Set(key, value).AsTask().Wait(); None
    | Remove(node, key) -> (nodes.Of node).Remove(key).AsTask().Wait(); None
    | Expire(node, key) -> (nodes.Of node).Expire(key).AsTask().Wait(); None
    | Deliver | Begin _ | Complete -> None

let private ops = TwoNodeModel.requests false |> Gen.map (List.truncate 30)

let private scenario =
    let options = Generators.options false |> Gen.map (fun o -> { o with EagerRefreshThreshold = ValueNone })
    let shrink (o, list: Op list) = seq { for i in 0 .. list.Length - 1 -> o, List.removeAt i list }
    Arb.fromGenShrink (Gen.zip options ops, shrink)

/// Each step: the model steps (and delivers what the step published), the runtime runs it and waits
/// until the other node has received as many messages as the model delivered.
let private agrees (o: EntryOptions) (list: Op list) =
    use nodes = build o
    let start = DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks
    let world = { (TwoNodeModel.start o) with Now = start }
    let mutable expected = Map.ofList [ A, 0L; B, 0L ]
    list
    |> List.fold (fun (ok, (w: World)) op ->
        if not ok then ok, w
        else
            let answer, next = step op w
            let delivered = next.Channel
            let next = delivered |> List.fold (fun w _ -> snd (step Deliver w)) next
            let calls = nodes.Calls
            let actual = run nodes w.NextValue op
            for sender, _, _ in delivered do
                let receiver = if sender = A then B else A
                expected <- Map.add receiver (expected[receiver] + 1L) expected
            let received =
                SpinWait.SpinUntil((fun () -> applied nodes.A = expected[A] && applied nodes.B = expected[B]), 30_000)
            let factoryRan = nodes.Calls > calls
            let modelRan = (match op with Get _ -> next.NextValue > w.NextValue | _ -> false)
            let same = actual = answer && factoryRan = modelRan && received
            if not same then
                printfn $"{op}: model {answer} (factory {modelRan}), runtime {actual} (factory {factoryRan}), delivered {received}"
            same, next) (true, world)
    |> fst

[<Property(MaxTest = 40)>]
let ``two runtime nodes on Redis answer every request as the two-node model does`` () =
    Prop.forAll scenario (fun (o, list) -> agrees o list)
