/// What the tests share: a cache on a fake clock, factories that count their runs, the repository's root.
module Fusion.FSharp.Tests.Support

open System
open System.IO
open System.Threading
open System.Threading.Tasks
open Microsoft.Extensions.Time.Testing
open Fusion
open Fusion.FSharp

/// A cache on a fake clock: 1 minute duration unless `configure` says otherwise.
let cacheOn (clock: FakeTimeProvider) (configure: FusionCacheBuilder -> FusionCacheBuilder) =
    FusionCacheBuilder().WithTimeProvider(clock).WithDuration(TimeSpan.FromMinutes 1.0) |> configure |> fun b -> b.Build()

/// Per-call options the tests share: fail-safe on; stale values readable by tryGet.
let failSafe = Options.none |> Options.failSafe true
let stale = Options.none |> Options.allowStaleOnReadOnly true

/// A factory that counts its runs and returns what `answer` gives for the run's number (1, 2…).
type Counted<'T>(answer: int -> Result<'T, Err>) =
    let mutable runs = 0
    member _.Runs = Volatile.Read &runs
    member _.Factory(_: Context<'T>) : Task<Result<'T, Err>> = Task.FromResult(answer (Interlocked.Increment &runs))

let counted (value: 'T) = Counted(fun _ -> Ok value)

let failing () : Context<'T> -> Task<Result<'T, Err>> = fun _ -> Task.FromResult(Error(Err.Of "source down"))

/// The directory holding Fusion.sln, above the test binaries.
let repositoryRoot () =
    let rec up (dir: DirectoryInfo | null) =
        match dir with
        | null -> failwith $"Fusion.sln not found above {AppContext.BaseDirectory}"
        | dir when File.Exists(Path.Combine(dir.FullName, "Fusion.sln")) -> dir.FullName
        | dir -> up dir.Parent
    up (DirectoryInfo AppContext.BaseDirectory)
