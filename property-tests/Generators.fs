/// Random entry options and random request sequences for the model and the runtime.
module Fusion.PropertyTests.Generators

open System
open System.Threading
open FsCheck
open FsCheck.FSharp
open Fusion.Core
open Fusion.PropertyTests.Model

let private ms (n: int) = TimeSpan.FromMilliseconds(float n)
let private bool = Gen.elements [ true; false ]
let private timeout = Gen.frequency [ 1, Gen.constant Timeout.InfiniteTimeSpan; 1, Gen.choose (1, 5_000) |> Gen.map ms ]

/// Valid options over the whole range that matters: short lifetimes, fail-safe on and off, few cycles.
let options (withTimeoutsAndJitter: bool) : Gen<EntryOptions> =
    gen {
        let! duration = Gen.choose (0, 60_000)
        let! failSafe = bool
        let! failSafeMax = Gen.choose (0, 200_000)
        let! throttle = Gen.choose (0, 30_000)
        let! cycles = Gen.frequency [ 1, Gen.constant Int32.MaxValue; 3, Gen.choose (0, 4) ]
        let! soft = if withTimeoutsAndJitter then timeout else Gen.constant Timeout.InfiniteTimeSpan
        let! hard = if withTimeoutsAndJitter then timeout else Gen.constant Timeout.InfiniteTimeSpan
        let! background = bool
        let! eager = Gen.frequency [ 1, Gen.constant ValueNone; 1, Gen.choose (1, 99) |> Gen.map (fun p -> ValueSome(float p / 100.0)) ]
        let! jitter = if withTimeoutsAndJitter then Gen.frequency [ 2, Gen.constant 0; 1, Gen.choose (1, 5_000) ] else Gen.constant 0
        let! staleOnRead = bool
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
                JitterMaxDuration = ms jitter
                AllowStaleOnReadOnly = staleOnRead }
    }

let private key = Gen.elements [ "a"; "b" ]

let private source (withStalls: bool) =
    Gen.frequency
        [ 3, Gen.constant (Returns 0)
          3, Gen.constant Fails
          1, Gen.constant Throws
          (if withStalls then 2 else 0), Gen.constant (Stalls 0) ]

let private op (withStalls: bool) =
    Gen.frequency
        [ 4, Gen.oneof [ Gen.choose (0, 1_000); Gen.choose (0, 60_000) ] |> Gen.map Advance
          6, Gen.map3 (fun k s d -> Get(k, s, (if d then Some 0 else None))) key (source withStalls) bool
          1, key |> Gen.map (fun k -> Set(k, 0))
          1, key |> Gen.map Remove
          1, key |> Gen.map Expire
          1, key |> Gen.map TryGet
          (if withStalls then 1 else 0), Gen.constant CompleteBackground ]

/// Gives every produced value a number of its own (10 × the op's index + a tag), so an answer
/// tells exactly which write or factory run it came from.
let private numbered (ops: Op list) =
    ops
    |> List.mapi (fun i op ->
        let v tag = i * 10 + tag
        match op with
        | Get(k, Returns _, d) -> Get(k, Returns(v 1), d |> Option.map (fun _ -> v 4))
        | Get(k, Stalls _, d) -> Get(k, Stalls(v 2), d |> Option.map (fun _ -> v 4))
        | Get(k, s, d) -> Get(k, s, d |> Option.map (fun _ -> v 4))
        | Set(k, _) -> Set(k, v 3)
        | other -> other)

/// A sequence of requests; `withStalls` adds factories that outlive their timeouts.
let ops (withStalls: bool) : Gen<Op list> =
    Gen.listOf (op withStalls) |> Gen.map numbered

/// Shrinks a sequence by dropping its second half, then one request at a time (numbering kept unique).
let shrinkOps (ops: Op list) : Op list seq =
    seq {
        if List.length ops > 1 then yield List.take (List.length ops / 2) ops
        for i in 0 .. List.length ops - 1 do
            yield List.removeAt i ops
    }
    |> Seq.map numbered
