/// SEMANTICS §5 invariants 6 and 7 on the runtime: one flight per key, and no flight blocks the next.
module Fusion.PropertyTests.FlightProperties

open System
open System.Threading
open System.Threading.Tasks
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open LanguageExt
open Fusion

let private cache (backgroundCompletion: bool) =
    FusionCacheBuilder()
        .WithDefaultEntryOptions(FusionCacheEntryOptions(AllowTimedOutFactoryBackgroundCompletion = backgroundCompletion))
        .Build()

/// How a flight ends.
type Ending =
    | Succeeds
    | FailsWithLeft
    | Throws
    | AllCallersCancel

let private endings = Gen.elements [ Succeeds; FailsWithLeft; Throws; AllCallersCancel ]

[<Property(MaxTest = 40)>]
let ``6. N concurrent callers on a cold key cause exactly one factory call and share its outcome`` () =
    Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (2, 300)) (Gen.elements [ Succeeds; FailsWithLeft; Throws ]))) (fun (n, ending) ->
        use c = cache true
        let calls = ref 0
        let gate = TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
        let factory () : Task<Either<Err, int>> =
            task {
                Interlocked.Increment calls |> ignore
                do! gate.Task
                return
                    match ending with
                    | Succeeds -> Either<Err, int>.Right 42
                    | FailsWithLeft -> Either<Err, int>.Left(Err.Of "down")
                    | _ -> raise (InvalidOperationException "boom")
            }
        let joined = ref 0
        let call () : Task<Either<Err, int>> =
            let pending = c.GetOrSet("k", Func<Task<Either<Err, int>>>(factory)).AsTask()
            Interlocked.Increment joined |> ignore // GetOrSet has returned: this caller waits on the flight
            pending
        let callers: Task<Either<Err, int>> array = Array.init n (fun _ -> Task.Run<Either<Err, int>>(Func<Task<Either<Err, int>>>(call)))
        // Every caller joins before the factory may finish (a bounded wait).
        SpinWait.SpinUntil((fun () -> joined.Value = n), 10_000) |> ignore
        gate.SetResult()
        let results = Task.WhenAll(callers).Result
        let expected (r: Either<Err, int>) =
            match ending with
            | Succeeds -> r.IsRight && r = Either<Err, int>.Right 42
            | _ -> r.IsLeft
        (calls.Value = 1 |> Prop.label $"calls = {calls.Value}")
        .&. (results |> Array.forall expected |> Prop.label "every caller got the flight's outcome"))

[<Property(MaxTest = 40)>]
let ``7. a cancelled or failed flight never blocks later callers`` () =
    Prop.forAll (Arb.fromGen (Gen.zip endings (Gen.choose (1, 20)))) (fun (ending, waiters) ->
        use c = cache false
        let gate = TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
        let first (ctx: FactoryContext<int>) : Task<Either<Err, int>> =
            task {
                match ending with
                | AllCallersCancel ->
                    // Ends only when its token is cancelled (every caller gone, no background completion).
                    do! Task.Delay(Timeout.Infinite, ctx.CancellationToken)
                    return Either<Err, int>.Right 0
                | _ ->
                    do! gate.Task
                    return
                        match ending with
                        | Succeeds -> Either<Err, int>.Right 1
                        | FailsWithLeft -> Either<Err, int>.Left(Err.Of "down")
                        | _ -> raise (InvalidOperationException "boom")
            }
        use cts = new CancellationTokenSource()
        let callers =
            Array.init waiters (fun _ -> c.GetOrSet("k", Func<_, _>(first), null, cts.Token).AsTask())
        if ending = AllCallersCancel then cts.Cancel() else gate.SetResult()
        let firstResults = Task.WhenAll(callers).Wait(5_000)
        // A later caller gets its own answer promptly: never stuck behind the earlier flight.
        let later = c.GetOrSet("k", Func<Task<Either<Err, int>>>(fun () -> Task.FromResult(Either<Err, int>.Right 2))).AsTask()
        let finished = later.Wait(5_000)
        let expected = if ending = Succeeds then 1 else 2
        (firstResults |> Prop.label "the first callers finished")
        .&. ((finished && later.Result = Either<Err, int>.Right expected) |> Prop.label $"later caller got {later.Result}"))
