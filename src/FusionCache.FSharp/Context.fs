namespace Fusion.FSharp

open System
open System.Threading
open Fusion

/// What a factory is given: the key, its token, the stale value it may refresh (with what its source said about it,
/// for a conditional refresh). Answer with `Factory.notModified` or `Factory.modified`, or set the produced entry's
/// options with `Factory.adapt`. Made on a miss only.
[<Sealed>]
type Context<'T> internal (inner: FactoryContext<'T>, callers: FusionCacheEntryOptions) =
    /// The key being computed.
    member _.Key = inner.Key

    /// Cancelled only when every caller waiting on this factory has given up and a timed-out factory may not complete
    /// in the background.
    member _.CancellationToken : CancellationToken = inner.CancellationToken

    /// The value held for the key (stale, or still valid and being refreshed), if any and of type 'T. There is one
    /// with fail-safe on (it keeps entries past their duration) or during an eager refresh.
    member _.StaleValue : 'T option = Convert.option inner.StaleValue

    /// The ETag the source gave with the stale value (an earlier run's `Factory.modified`): send it as `If-None-Match`.
    member _.StaleETag : string option = match inner.StaleETag with null -> None | etag -> Some etag

    /// When the source said the stale value last changed: send it as `If-Modified-Since`.
    member _.StaleLastModified : DateTimeOffset option = Option.ofNullable inner.StaleLastModified

    /// The C# context underneath, for what this type does not show.
    member _.FactoryContext = inner

    /// The caller's options with every value set: what `Factory.adapt` lays its overrides over.
    member internal _.Callers = callers

/// What a factory may answer or say about the entry it produces, from its `Context`.
[<RequireQualifiedAccess>]
module Factory =
    /// Conditional refresh: the source says the stale value has not changed. The stale value is stored again as fresh
    /// (a new write of it, in L2 too, with its ETag and LastModified) and returned, without a new payload. With no stale
    /// value, `Error(FactoryFailed _)`.
    let notModified (ctx: Context<'T>) : Result<'T, Err> = Convert.result (ctx.FactoryContext.NotModified())

    /// A new value with what its source said about it (its ETag, when it last changed), given to the next run as
    /// `StaleETag` and `StaleLastModified`. Always `Ok value`.
    let modified (value: 'T) (etag: string option) (lastModified: DateTimeOffset option) (ctx: Context<'T>) : Result<'T, Err> =
        let etag = match etag with Some e -> e | None -> null
        Convert.result (ctx.FactoryContext.Modified(value, etag, Option.toNullable lastModified))

    /// Adaptive caching: these options, laid over the caller's (only what they set), for the entry this run produces
    /// (say, a duration from an HTTP max-age, or tags). Each caller's reply still follows its own options; the token
    /// of `options` is not used.
    let adapt (options: Options) (ctx: Context<'T>) : unit =
        ctx.FactoryContext.EntryOptions <- Overrides.over ctx.Callers options.Overrides
