module FSharpConsumer.ConsumerTests

open System
open System.Threading.Tasks
open Fusion
open LanguageExt
open Xunit
open Fusion.FSharp

[<Fact>]
let ``an F# app on FSharp.Core 6 builds against the packages and caches`` () =
    task {
        use cache = FusionCacheBuilder().WithDuration(TimeSpan.FromMinutes 1.0).Build()
        let mutable calls = 0
        let factory () =
            calls <- calls + 1
            Task.FromResult(Either<Err, int>.Right 42)
        for _ in 1..3 do
            let! result = cache.GetOrSet("answer", Func<_>(factory))
            Assert.True(result.IsRight)
        Assert.Equal(1, calls)
        Assert.Equal("6.0.0.0", string (typeof<FSharpFunc<int, int>>.Assembly.GetName().Version))
    }

[<Fact>]
let ``an F# app on FSharp.Core 6 uses the F# API without LanguageExt`` () =
    task {
        use cache = FusionCacheBuilder().WithDuration(TimeSpan.FromMinutes 1.0).Build()
        let mutable calls = 0
        let factory (_: Context<int>) =
            calls <- calls + 1
            Task.FromResult(Ok 42)
        let failSafe = Options.none |> Options.failSafe true
        for _ in 1..3 do
            let! result = cache |> Cache.getOrSetWith failSafe "answer" factory
            Assert.Equal(Ok 42, result)
        do! cache |> Cache.expire "answer"
        let! served = cache |> Cache.getOrSetWith failSafe "answer" (fun _ -> Task.FromResult(Error(Err.Of "down")))
        let! missing = cache |> Cache.tryGet<int> "other"
        Assert.Equal(Ok 42, served)
        Assert.Equal(None, missing)
        Assert.Equal(1, calls)
    }
