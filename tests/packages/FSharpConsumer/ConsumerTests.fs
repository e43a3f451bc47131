module FSharpConsumer.ConsumerTests

open System
open System.Threading.Tasks
open Fusion
open LanguageExt
open Xunit

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
