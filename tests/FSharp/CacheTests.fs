/// Cache.getOrSet, getOrSetWith and getOrSetWithDefault.
module Fusion.FSharp.Tests.CacheTests

open System
open System.Threading
open System.Threading.Tasks
open Microsoft.Extensions.Time.Testing
open Xunit
open Fusion
open Fusion.FSharp
open Fusion.FSharp.Tests.Support

[<Fact>]
let ``a miss runs the factory and a hit does not`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        let source = counted 42
        let! first = cache |> Cache.getOrSet "answer" source.Factory
        let! second = cache |> Cache.getOrSet "answer" source.Factory
        Assert.Equal(Ok 42, first)
        Assert.Equal(Ok 42, second)
        Assert.Equal(1, source.Runs)
    }

[<Fact>]
let ``100 concurrent callers on one key run the factory once and all get its value`` () =
    task {
        use cache = FusionCacheBuilder().Build()
        let gate = TaskCompletionSource<unit>(TaskCreationOptions.RunContinuationsAsynchronously)
        let mutable runs = 0
        let factory (_: Context<int>) =
            task {
                Interlocked.Increment &runs |> ignore
                do! gate.Task
                return Ok 7
            }
        use joined = new CountdownEvent(100)
        let callers =
            Array.init 100 (fun _ ->
                Task.Run<Task<Result<int, Err>>>(fun () ->
                    let call = cache |> Cache.getOrSet "hot" factory // joined the flight once this returns
                    joined.Signal() |> ignore
                    call))
        Assert.True(joined.Wait(TimeSpan.FromSeconds 30.0))
        gate.SetResult()
        let! calls = Task.WhenAll callers
        let! results = Task.WhenAll calls
        Assert.Equal(1, runs)
        Assert.All(results, fun r -> Assert.Equal(Ok 7, r))
    }

[<Fact>]
let ``an Error from the factory comes back as is`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        let! result = cache |> Cache.getOrSet "user:0" (fun _ -> task { return Error(Err.Of "no such user") })
        Assert.Equal(Error(FactoryFailed("no such user", null)), result)
    }

[<Fact>]
let ``a factory that throws, at once or in its task, gives FactoryFailed with the exception`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        let boom = InvalidOperationException "boom"
        let! thrown = cache |> Cache.getOrSet<int> "a" (fun _ -> raise boom)
        let! faulted = cache |> Cache.getOrSet<int> "b" (fun _ ->
            task {
                do! Task.Yield()
                return raise boom
            })
        for result in [ thrown; faulted ] do
            match result with
            | Error(FactoryFailed(_, ex)) -> Assert.Same(boom, ex)
            | other -> failwith $"expected FactoryFailed, got {other}"
    }

[<Fact>]
let ``Ok null cannot be cached: it is a factory failure`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        let! result = cache |> Cache.getOrSet "null" (fun _ -> task { return Ok(Unchecked.defaultof<string>) })
        Assert.True((match result with Error(FactoryFailed _) -> true | _ -> false), $"{result}")
    }

[<Fact>]
let ``absence is cached as a voption`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        let source = counted ValueOption<string>.None
        let! _ = cache |> Cache.getOrSet "missing" source.Factory
        let! second = cache |> Cache.getOrSet "missing" source.Factory
        Assert.Equal(Ok ValueNone, second)
        Assert.Equal(1, source.Runs)
    }

[<Fact>]
let ``with fail-safe, a failing source is served the stale value`` () =
    task {
        let clock = FakeTimeProvider()
        use cache = cacheOn clock id
        let! _ = cache |> Cache.getOrSetWith failSafe "rate" (fun _ -> task { return Ok 1.25m })
        clock.Advance(TimeSpan.FromMinutes 2.0)
        let! served = cache |> Cache.getOrSetWith failSafe "rate" (failing ())
        Assert.Equal(Ok 1.25m, served)
    }

[<Fact>]
let ``the fail-safe default serves when nothing is cached yet`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        let! served = cache |> Cache.getOrSetWithDefault (Some 0) failSafe "a" (failing ())
        let! none = cache |> Cache.getOrSetWithDefault None failSafe "b" (failing ())
        Assert.Equal(Ok 0, served)
        Assert.Equal(Error(Err.Of "source down"), none)
    }

[<Fact>]
let ``a cancelled token gives Cancelled without running the factory`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        use cts = new CancellationTokenSource()
        cts.Cancel()
        let source = counted 1
        match! cache |> Cache.getOrSetWith (Options.none |> Options.token cts.Token) "k" source.Factory with
        | Error(Cancelled _) -> Assert.Equal(0, source.Runs)
        | other -> failwith $"expected Cancelled, got {other}"
    }

[<Fact>]
let ``a token cancelled during the wait ends that caller's wait only`` () =
    task {
        use cache = FusionCacheBuilder().Build()
        let gate = TaskCompletionSource<unit>(TaskCreationOptions.RunContinuationsAsynchronously)
        let factory (_: Context<int>) =
            task {
                do! gate.Task
                return Ok 5
            }
        use cts = new CancellationTokenSource()
        let patient = cache |> Cache.getOrSet "k" factory
        let impatient = cache |> Cache.getOrSetWith (Options.none |> Options.token cts.Token) "k" factory
        cts.Cancel()
        let! cancelled = impatient
        gate.SetResult()
        let! served = patient
        Assert.True((match cancelled with Error(Cancelled _) -> true | _ -> false), $"{cancelled}")
        Assert.Equal(Ok 5, served)
    }

[<Fact>]
let ``a value of another type under the key is WrongType`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        do! cache |> Cache.set "k" "text"
        match! cache |> Cache.getOrSet "k" (counted 1).Factory with
        | Error(WrongType(key, _, _)) -> Assert.Equal("k", key)
        | other -> failwith $"expected WrongType, got {other}"
    }

[<Fact>]
let ``a hit allocates little: the delegate and the completed task`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        let fast = Options.none |> Options.duration (TimeSpan.FromMinutes 5.0)
        let factory (_: Context<string>) = Task.FromResult(Ok "v")
        let! _ = cache |> Cache.getOrSetWith fast "k" factory
        let hit () = (cache |> Cache.getOrSetWith fast "k" factory).Result |> ignore
        for _ in 1..1000 do hit ()
        let before = GC.GetAllocatedBytesForCurrentThread()
        for _ in 1..1000 do hit ()
        let perHit = (GC.GetAllocatedBytesForCurrentThread() - before) / 1000L
        // A closure, its delegate and a Task<Result>: about 200 B on 64 bits. Converting the options again per call
        // would add their resolution too (several hundred bytes).
        Assert.True(perHit <= 256L, $"{perHit} B per hit")
    }
