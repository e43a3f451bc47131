/// Model-based test: the C# runtime, driven sequentially on a fake clock, answers every request
/// exactly as the reference model built from the pure core does.
module Fusion.PropertyTests.RuntimeAgainstModel

open System
open System.Threading.Tasks
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open FsCheck.Experimental
open LanguageExt
open Microsoft.Extensions.Logging.Abstractions
open Microsoft.Extensions.Time.Testing
open Fusion
open Fusion.Core
open Fusion.PropertyTests.Model

/// The system under test: a cache on a fake clock, and how often its factories ran.
type Sut =
    { Cache: FusionCache
      Clock: FakeTimeProvider
      mutable Calls: int }

let private factory (sut: Sut) (source: Source) =
    Func<FactoryContext<int>, Task<Either<Err, int>>>(fun _ ->
        sut.Calls <- sut.Calls + 1
        match source with
        | Returns v -> Task.FromResult(Either<Err, int>.Right v)
        | Fails -> Task.FromResult(Either<Err, int>.Left(Err.Of "source down"))
        | Throws -> raise (InvalidOperationException "source threw")
        | Stalls _ -> failwith "the sequential model test has no stalling factories")

let private sameError (a: Err) (b: Err) = a.Message = b.Message

/// Runs one request on the runtime and compares the answer with the model's.
let private check (op: Op) (sut: Sut) (expected: Answer) (node: Node) : bool =
    let answered =
        match op with
        | Advance ms -> sut.Clock.Advance(TimeSpan.FromMilliseconds(float ms)); expected = Done
        | Get(key, source, dflt) ->
            let d = match dflt with Some v -> Option<int>.Some v | None -> Option<int>.None
            let result = sut.Cache.GetOrSet(key, factory sut source, d).AsTask().Result
            result.Match(
                Right = (fun v -> match expected with Got(e, _) -> e = v | _ -> false),
                Left = (fun err -> match expected with Failed e -> sameError e err | _ -> false))
        | Set(key, v) -> sut.Cache.Set(key, v).AsTask().Wait(); expected = Done
        | Remove key -> sut.Cache.Remove(key).AsTask().Wait(); expected = Done
        | Expire key -> sut.Cache.Expire(key).AsTask().Wait(); expected = Done
        | TryGet key ->
            let found = sut.Cache.TryGet<int>(key).AsTask().Result
            let actual = found.Match(Some = (fun v -> [ v ]), None = (fun () -> [])) |> List.tryHead
            expected = Found actual
        | CompleteBackground -> expected = Done
    // An eager refresh runs on the thread pool: the step is over once its flight has ended.
    let settled = Threading.SpinWait.SpinUntil((fun () -> sut.Cache.InFlightCount = 0), 10_000)
    answered && settled && sut.Calls = node.FactoryCalls

let private operation (op: Op) =
    { new Operation<Sut, Node * Answer>() with
        override _.Run((node, _)) = let answer, next = step op node in next, answer
        override _.Check(sut, (node, answer)) =
            check op sut answer node |> Prop.label $"{op}: model answered {answer}, calls {node.FactoryCalls}"
        override _.ToString() = $"{op}" }

let private setup (options: EntryOptions) =
    { new Setup<Sut, Node * Answer>() with
        override _.Actual() =
            let clock = FakeTimeProvider(DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero))
            { Cache = new FusionCache("model", 100, options, clock, NullLogger.Instance); Clock = clock; Calls = 0 }
        override _.Model() = create options (DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks), Done
        override _.ToString() = $"%A{options}" }

let private machine =
    let mutable counter = 0
    { new Machine<Sut, Node * Answer>(60) with
        override _.Setup = Generators.options false |> Gen.map setup |> Arb.fromGen
        override _.TearDown = StateMachine.tearDown (fun sut -> sut.Cache.Dispose())
        override _.Next _ =
            // Fresh numbers per request, so every answer names the write it came from.
            Generators.ops false
            |> Gen.map (fun ops -> match ops with op :: _ -> op | [] -> Advance 0)
            |> Gen.map (fun op ->
                counter <- counter + 1
                let v = counter * 10
                match op with
                | Get(k, Returns _, d) -> Get(k, Returns(v + 1), d |> Option.map (fun _ -> v + 4))
                | Get(k, s, d) -> Get(k, s, d |> Option.map (fun _ -> v + 4))
                | Set(k, _) -> Set(k, v + 3)
                | other -> other)
            |> Gen.map operation }

[<Property(MaxTest = 200)>]
let ``the runtime answers every request as the core's model does`` () = StateMachine.toProperty machine
