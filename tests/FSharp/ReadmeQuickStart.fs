/// The README's F# quick start, kept compiling and true (DocsInSyncTests checks the README shows this text).
module Fusion.FSharp.Tests.ReadmeQuickStart

// --- README: F# quick start ---
open System
open System.Threading.Tasks
open Fusion
open Fusion.FSharp

let cache =
    FusionCacheBuilder()
        .WithCapacity(10_000)
        .WithDuration(TimeSpan.FromMinutes 5.0)
        .Build()

// A factory returns Task<Result<'T, Err>>: Ok with the value, or Error when its source fails.
let loadUser (id: int) : Task<Result<string, Err>> =
    task { return if id > 0 then Ok $"user {id}" else Error(Err.Of "no such user") }

let userName (id: int) : Task<string> =
    task {
        match! cache |> Cache.getOrSet $"user:{id}" (fun _ -> loadUser id) with
        | Ok name -> return name
        | Error(FactoryFailed(reason, _)) -> return $"source failed: {reason}"
        | Error err -> return $"failed: {err.Message}"
    }

// Per-call options, built as a pipeline. With fail-safe on, when the source fails the last good value is served.
let failSafe =
    Options.none
    |> Options.failSafe true
    |> Options.failSafeThrottleDuration (TimeSpan.FromSeconds 30.0)

let price (id: int) (load: int -> Task<Result<decimal, Err>>) : Task<Result<decimal, Err>> =
    cache |> Cache.getOrSetWith failSafe $"price:{id}" (fun _ -> load id)
// --- end ---

open Xunit

[<Fact>]
let ``the README's F# quick start runs and serves the fail-safe fallback`` () =
    task {
        let! found = userName 42
        let! missing = userName 0
        Assert.Equal("user 42", found)
        Assert.Equal("source failed: no such user", missing)

        let! first = price 1 (fun _ -> Task.FromResult(Ok 9.99m))
        do! cache |> Cache.expire "price:1"
        let! served = price 1 (fun _ -> Task.FromResult(Error(Err.Of "db down")))
        Assert.Equal(Ok 9.99m, first)
        Assert.Equal(Ok 9.99m, served)
    }
