/// Tags, RemoveByTag and Clear (SEMANTICS §4b), checked on the runtime against a rule written independently
/// of the core: for random interleavings of tagged writes and invalidations, an entry is readable iff it was
/// written after every invalidation of its tags and of the cache; with `allowFailSafe` invalidations it stays
/// readable as a stale value only.
module Fusion.PropertyTests.TagsAgainstModel

open System
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Microsoft.Extensions.Time.Testing
open Fusion

type private Op =
    | Write of Key: string * Tags: string list * Value: int
    | RemoveByTag of Tag: string * AllowFailSafe: bool
    | Clear of AllowFailSafe: bool
    | Read of Key: string

let private keys = [ "a"; "b"; "c"; "d" ]
let private tags = [ "red"; "green"; "blue" ]

let private op =
    Gen.frequency
        [ 5, Gen.map3 (fun k t v -> Write(k, t, v)) (Gen.elements keys) (Gen.subListOf tags |> Gen.map List.ofSeq) (Gen.choose (0, 99))
          2, Gen.map2 (fun t f -> RemoveByTag(t, f)) (Gen.elements tags) (Gen.elements [ true; false ])
          1, Gen.elements [ true; false ] |> Gen.map Clear
          5, Gen.elements keys |> Gen.map Read ]

/// The rule: what a plain read and a stale-allowing read of `key` return after `history` (oldest first).
let private expected (history: Op list) (key: string) : int option * int option =
    let indexed = List.indexed history
    match indexed |> List.filter (fun (_, o) -> match o with Write(k, _, _) -> k = key | _ -> false) |> List.tryLast with
    | Some(written, Write(_, entryTags, value)) ->
        let later = indexed |> List.filter (fun (i, _) -> i > written) |> List.map snd
        let covers o =
            match o with
            | RemoveByTag(t, f) when List.contains t entryTags -> Some f
            | Clear f -> Some f
            | _ -> None
        let hits = later |> List.choose covers
        if List.contains false hits then None, None // removed
        elif not hits.IsEmpty then None, Some value // stale: a fallback only
        else Some value, Some value
    | _ -> None, None

[<Property(MaxTest = 300)>]
let ``4b. an entry is readable iff written after every invalidation of its tags and of the cache`` () =
    Prop.forAll (Arb.fromGen (Gen.listOf op)) (fun ops ->
        let time = FakeTimeProvider(DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero))
        use cache = FusionCacheBuilder().WithTimeProvider(time).WithDuration(TimeSpan.FromMinutes 10.0).WithFailSafe().Build()
        let stale = FusionCacheEntryOptions(AllowStaleOnReadOnly = true)
        let value (o: LanguageExt.Option<int>) = if o.IsSome then Some(o.IfNone 0) else None
        let folder (ok: string option, history) o =
            match o with
            | Write(k, t, v) ->
                cache.Set(k, v, FusionCacheEntryOptions(Tags = Array.ofList t)).AsTask().Wait()
                ok, history @ [ o ]
            | RemoveByTag(t, f) ->
                cache.RemoveByTag(t, f).AsTask().Wait()
                ok, history @ [ o ]
            | Clear f ->
                cache.Clear(f).AsTask().Wait()
                ok, history @ [ o ]
            | Read k ->
                let plain, staleAllowed = expected history k
                let gotPlain = value (cache.TryGet<int>(k).AsTask().Result)
                let gotStale = value (cache.TryGet<int>(k, stale).AsTask().Result)
                let agree = gotPlain = plain && gotStale = staleAllowed
                let why = if agree || ok.IsSome then ok else Some $"read {k} after {history}: plain {gotPlain} (expected {plain}), stale-allowed {gotStale} (expected {staleAllowed})"
                why, history
        match ops |> List.fold folder (None, []) |> fst with
        | None -> true |> Prop.label "every read agreed"
        | Some why -> false |> Prop.label why)
