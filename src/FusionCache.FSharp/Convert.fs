/// The conversions between the C# API's types (LanguageExt's Either and Option, ValueTask) and F#'s (Result, option,
/// Task). Each is one step: a completed ValueTask becomes a completed Task without a state machine.
module internal Fusion.FSharp.Convert

open System.Threading.Tasks
open Fusion

/// `Right` or `Left` as `Ok` or `Error`. The cache never returns a Bottom `Either`.
let result (either: LanguageExt.Either<Err, 'T>) : Result<'T, Err> =
    // The explicit conversions read the struct's field: no delegate, no boxing (unlike Match or Case).
    if either.IsRight then Ok(LanguageExt.Either<Err, 'T>.op_Explicit either : 'T)
    else Error(LanguageExt.Either<Err, 'T>.op_Explicit either : Err)

/// `Ok` or `Error` as `Right` or `Left`; `Ok null` throws here, inside the factory, which the cache reports as
/// `FactoryFailed` (an `Either` cannot hold null).
let either (result: Result<'T, Err>) : LanguageExt.Either<Err, 'T> =
    match result with
    | Ok value -> LanguageExt.Either<Err, 'T>.Right value
    | Error err -> LanguageExt.Either<Err, 'T>.Left err

let option (value: LanguageExt.Option<'T>) : 'T option =
    if value.IsSome then Some(LanguageExt.Option<'T>.op_Explicit value) else None

let ofOption (value: 'T option) : LanguageExt.Option<'T> =
    match value with
    | Some v -> LanguageExt.Option<'T>.Some v
    | None -> LanguageExt.Option<'T>.None

/// The cache's reply as a Task of Result: a completed one (a hit) without a state machine.
let resultTask (reply: ValueTask<LanguageExt.Either<Err, 'T>>) : Task<Result<'T, Err>> =
    if reply.IsCompletedSuccessfully then Task.FromResult(result reply.Result)
    else
        task {
            let! either = reply
            return result either
        }

/// The F# factory's Task of Result as the C# factory's Task of Either. A faulted or cancelled task stays so (the
/// cache reports it as `FactoryFailed`), and so does a null one, which the cache reports too.
let eitherTask (produced: Task<Result<'T, Err>>) : Task<LanguageExt.Either<Err, 'T>> =
    if isNull (box produced) then Unchecked.defaultof<_>
    elif produced.IsCompletedSuccessfully then Task.FromResult(either produced.Result)
    else
        task {
            let! r = produced
            return either r
        }

let optionTask (reply: ValueTask<LanguageExt.Option<'T>>) : Task<'T option> =
    if reply.IsCompletedSuccessfully then Task.FromResult(option reply.Result)
    else
        task {
            let! value = reply
            return option value
        }
