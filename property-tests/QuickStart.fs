/// The README's F# quick start, kept compiling and true.
module Fusion.PropertyTests.QuickStart

open System
open System.Threading.Tasks
open LanguageExt
open Xunit
open Fusion

[<Fact>]
let ``the README's F# quick start runs and serves the fail-safe fallback`` () =
    task {
        // --- README: F# quick start ---
        use cache =
            FusionCacheBuilder()
                .WithCapacity(10_000)
                .WithFailSafe(throttle = TimeSpan.FromSeconds 30.0)
                .Build()

        let loadUser (id: int) : Task<Either<Err, string>> =
            task { return (if id > 0 then Either<Err, string>.Right $"user {id}" else Either<Err, string>.Left(Err.Of "no such user")) }

        let! user = cache.GetOrSet("user:42", fun () -> loadUser 42)

        let text =
            match user.Case with
            | :? string as name -> name
            | :? Err as err -> $"failed: {err.Message}"
            | _ -> "bottom"
        // --- end ---
        Assert.Equal("user 42", text)

        let! missing = cache.GetOrSet("user:0", fun () -> loadUser 0)
        Assert.True(missing.IsLeft)
        match missing.Case with
        | :? Err as err -> Assert.Equal("factory failed: no such user", err.Message)
        | other -> failwith $"expected an Err, got {other}"
    }
