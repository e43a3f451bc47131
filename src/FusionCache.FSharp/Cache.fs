namespace Fusion.FSharp

open System
open System.Threading.Tasks
open Fusion

/// Fusion for F# pipelines: every function takes the cache last (`cache |> Cache.getOrSet "k" factory`), factories
/// return `Task<Result<'T, Err>>` and so does the cache. Run-time failures come back as `Error(Err)`; only programmer
/// errors (a null or empty key or tag, a null value, a disposed cache) throw. A value of `'T option` cannot be cached
/// as `None` (it is null at run time): cache a `'T voption` to cache absence.
[<RequireQualifiedAccess>]
module Cache =
    let private getOrSetCore (options: Options) (failSafeDefault: 'T option) key (factory: Context<'T> -> Task<Result<'T, Err>>) (cache: FusionCache) : Task<Result<'T, Err>> =
        let entryOptions = options.Conversion.For cache.DefaultEntryOptions
        // One closure and one delegate per call: the price of taking an F# function (the C# hit allocates nothing).
        let run =
            Func<FactoryContext<'T>, Task<LanguageExt.Either<Err, 'T>>>(fun inner ->
                let callers = match entryOptions with null -> cache.DefaultEntryOptions | o -> o
                Convert.eitherTask (factory (Context(inner, callers))))
        Convert.resultTask (cache.GetOrSet(key, run, Convert.ofOption failSafeDefault, entryOptions, options.CancellationToken))

    /// The key's value, running `factory` (once per key at a time, shared by every concurrent caller) when there is no
    /// fresh value. A factory that returns `Error`, throws or returns a faulted task gives `Error(FactoryFailed _)`
    /// (or, with fail-safe on, the stale value).
    let getOrSet<'T> (key: string) (factory: Context<'T> -> Task<Result<'T, Err>>) (cache: FusionCache) : Task<Result<'T, Err>> =
        getOrSetCore Options.none None key factory cache

    /// As `getOrSet`, with per-call options (and their token).
    let getOrSetWith<'T> (options: Options) (key: string) (factory: Context<'T> -> Task<Result<'T, Err>>) (cache: FusionCache) : Task<Result<'T, Err>> =
        getOrSetCore options None key factory cache

    /// As `getOrSetWith`, with a value fail-safe serves when the factory fails and no stale value exists (only with
    /// fail-safe on); `None` for none.
    let getOrSetWithDefault<'T> (failSafeDefault: 'T option) (options: Options) (key: string) (factory: Context<'T> -> Task<Result<'T, Err>>) (cache: FusionCache) : Task<Result<'T, Err>> =
        getOrSetCore options failSafeDefault key factory cache

    /// The key's value if it is fresh (or stale, with `Options.allowStaleOnReadOnly`) and of type 'T; never runs a
    /// factory. On an L1 miss it reads L2 when configured.
    let tryGetWith<'T> (options: Options) (key: string) (cache: FusionCache) : Task<'T option> =
        Convert.optionTask (cache.TryGet<'T>(key, options.Conversion.For cache.DefaultEntryOptions, options.CancellationToken))

    /// As `tryGetWith` with no per-call options.
    let tryGet<'T> (key: string) (cache: FusionCache) : Task<'T option> = tryGetWith<'T> Options.none key cache

    /// Writes a fresh value under the key (in L2 too, and tells the other nodes, when configured). Completes once L2
    /// has it, unless L2 operations run in the background; an L2 failure is queued for recovery, never thrown.
    let setWith<'T> (options: Options) (key: string) (value: 'T) (cache: FusionCache) : Task =
        cache.Set(key, value, options.Conversion.For cache.DefaultEntryOptions, options.CancellationToken).AsTask()

    /// As `setWith` with no per-call options.
    let set<'T> (key: string) (value: 'T) (cache: FusionCache) : Task = setWith Options.none key value cache

    /// Deletes the key (from L2 too, and tells the other nodes); it is no longer a fail-safe fallback either.
    let removeWith (options: Options) (key: string) (cache: FusionCache) : Task =
        cache.Remove(key, options.Conversion.For cache.DefaultEntryOptions, options.CancellationToken).AsTask()

    /// As `removeWith` with no per-call options.
    let remove (key: string) (cache: FusionCache) : Task = removeWith Options.none key cache

    /// Makes the key's entry stale everywhere: the next read runs the factory, and the old value stays a fail-safe
    /// fallback until its physical expiry.
    let expireWith (options: Options) (key: string) (cache: FusionCache) : Task =
        cache.Expire(key, options.Conversion.For cache.DefaultEntryOptions, options.CancellationToken).AsTask()

    /// As `expireWith` with no per-call options.
    let expire (key: string) (cache: FusionCache) : Task = expireWith Options.none key cache

    /// Makes every entry written with the tag before this call absent. Lazy: nothing is scanned. With Redis, every node
    /// learns it.
    let removeByTag (tag: string) (cache: FusionCache) : Task = cache.RemoveByTag(tag, false).AsTask()

    /// As `removeByTag`, but the entries become stale, as `expire` makes one: still a fail-safe fallback.
    let expireByTag (tag: string) (cache: FusionCache) : Task = cache.RemoveByTag(tag, true).AsTask()

    /// Makes every entry written before this call absent. Lazy: nothing is scanned or freed at once.
    let clear (cache: FusionCache) : Task = cache.Clear(false).AsTask()

    /// As `clear`, but the entries become stale, as `expire` makes one: still a fail-safe fallback.
    let expireAll (cache: FusionCache) : Task = cache.Clear(true).AsTask()
