namespace Fusion.FSharp

open System
open System.Threading
open Fusion

/// What one Options value overrides: `ValueNone` follows the cache (or, for adaptive caching, the caller).
[<NoComparison; NoEquality>]
type internal Overrides =
    { Duration: TimeSpan voption
      FailSafe: bool voption
      FailSafeMaxDuration: TimeSpan voption
      FailSafeThrottleDuration: TimeSpan voption
      MaxFailSafeCycles: int voption
      FactorySoftTimeout: TimeSpan voption
      FactoryHardTimeout: TimeSpan voption
      AllowTimedOutFactoryBackgroundCompletion: bool voption
      EagerRefreshThreshold: float voption
      JitterMaxDuration: TimeSpan voption
      AllowStaleOnReadOnly: bool voption
      DistributedCacheDuration: TimeSpan voption
      DistributedCacheSoftTimeout: TimeSpan voption
      DistributedCacheHardTimeout: TimeSpan voption
      AllowBackgroundDistributedCacheOperations: bool voption
      AllowBackgroundBackplaneOperations: bool voption
      SkipDistributedCacheRead: bool voption
      SkipDistributedCacheWrite: bool voption
      SkipBackplaneNotifications: bool voption
      SkipMemoryCacheRead: bool voption
      SkipMemoryCacheWrite: bool voption
      Tags: string[] voption }

module internal Overrides =
    let none =
        { Duration = ValueNone; FailSafe = ValueNone; FailSafeMaxDuration = ValueNone; FailSafeThrottleDuration = ValueNone
          MaxFailSafeCycles = ValueNone; FactorySoftTimeout = ValueNone; FactoryHardTimeout = ValueNone
          AllowTimedOutFactoryBackgroundCompletion = ValueNone; EagerRefreshThreshold = ValueNone; JitterMaxDuration = ValueNone
          AllowStaleOnReadOnly = ValueNone; DistributedCacheDuration = ValueNone; DistributedCacheSoftTimeout = ValueNone
          DistributedCacheHardTimeout = ValueNone; AllowBackgroundDistributedCacheOperations = ValueNone
          AllowBackgroundBackplaneOperations = ValueNone; SkipDistributedCacheRead = ValueNone
          SkipDistributedCacheWrite = ValueNone; SkipBackplaneNotifications = ValueNone; SkipMemoryCacheRead = ValueNone
          SkipMemoryCacheWrite = ValueNone; Tags = ValueNone }

    let inline private pick (value: 'a voption) (underneath: 'a) = match value with ValueSome v -> v | ValueNone -> underneath

    let inline private pickNullable (value: 'a voption) (underneath: Nullable<'a>) =
        match value with ValueSome v -> Nullable v | ValueNone -> underneath

    /// These overrides laid over `under`, an options object with every value set (a cache's `DefaultEntryOptions`, or
    /// such an object with a caller's overrides laid over it): every value is set in the result too. C#'s
    /// `FusionCacheEntryOptions` only takes values at its construction, so "only what is set" cannot be built up one
    /// property at a time from F#; laid over a complete object, it resolves exactly as the overrides alone would.
    let over (under: FusionCacheEntryOptions) (o: Overrides) =
        let tags: Collections.Generic.IReadOnlyList<string> | null =
            match o.Tags with
            | ValueSome tags -> tags
            | ValueNone -> under.Tags
        FusionCacheEntryOptions(
            Duration = pick o.Duration under.Duration,
            IsFailSafeEnabled = pick o.FailSafe under.IsFailSafeEnabled,
            FailSafeMaxDuration = pick o.FailSafeMaxDuration under.FailSafeMaxDuration,
            FailSafeThrottleDuration = pick o.FailSafeThrottleDuration under.FailSafeThrottleDuration,
            MaxFailSafeCycles = pick o.MaxFailSafeCycles under.MaxFailSafeCycles,
            FactorySoftTimeout = pick o.FactorySoftTimeout under.FactorySoftTimeout,
            FactoryHardTimeout = pick o.FactoryHardTimeout under.FactoryHardTimeout,
            AllowTimedOutFactoryBackgroundCompletion =
                pick o.AllowTimedOutFactoryBackgroundCompletion under.AllowTimedOutFactoryBackgroundCompletion,
            EagerRefreshThreshold = pickNullable o.EagerRefreshThreshold under.EagerRefreshThreshold,
            JitterMaxDuration = pick o.JitterMaxDuration under.JitterMaxDuration,
            AllowStaleOnReadOnly = pick o.AllowStaleOnReadOnly under.AllowStaleOnReadOnly,
            DistributedCacheDuration = pickNullable o.DistributedCacheDuration under.DistributedCacheDuration,
            DistributedCacheSoftTimeout = pick o.DistributedCacheSoftTimeout under.DistributedCacheSoftTimeout,
            DistributedCacheHardTimeout = pick o.DistributedCacheHardTimeout under.DistributedCacheHardTimeout,
            AllowBackgroundDistributedCacheOperations =
                pick o.AllowBackgroundDistributedCacheOperations under.AllowBackgroundDistributedCacheOperations,
            AllowBackgroundBackplaneOperations = pick o.AllowBackgroundBackplaneOperations under.AllowBackgroundBackplaneOperations,
            SkipDistributedCacheRead = pick o.SkipDistributedCacheRead under.SkipDistributedCacheRead,
            SkipDistributedCacheWrite = pick o.SkipDistributedCacheWrite under.SkipDistributedCacheWrite,
            SkipBackplaneNotifications = pick o.SkipBackplaneNotifications under.SkipBackplaneNotifications,
            SkipMemoryCacheRead = pick o.SkipMemoryCacheRead under.SkipMemoryCacheRead,
            SkipMemoryCacheWrite = pick o.SkipMemoryCacheWrite under.SkipMemoryCacheWrite,
            Tags = tags)

/// An `Overrides` laid over one cache's defaults, kept for the next call with the same defaults.
[<Sealed>]
type internal Laid(under: FusionCacheEntryOptions, options: FusionCacheEntryOptions) =
    member _.Under = under
    member _.Options = options

/// Overrides and the options object last made of them: a reused Options value costs one reference comparison per call,
/// and the C# options object it hands the cache is the same each time (the cache keeps its own resolution of it).
[<Sealed>]
type internal Conversion(overrides: Overrides) =
    let isNone = obj.ReferenceEquals(overrides, Overrides.none)
    [<VolatileField>]
    let mutable last: Laid option = None

    member _.Overrides = overrides

    /// The C# options for a cache whose `DefaultEntryOptions` is `defaults`; null when nothing is overridden.
    member _.For(defaults: FusionCacheEntryOptions) : FusionCacheEntryOptions | null =
        if isNone then null
        else
            match last with
            | Some laid when obj.ReferenceEquals(laid.Under, defaults) -> laid.Options
            | _ ->
                let options = Overrides.over defaults overrides
                last <- Some(Laid(defaults, options)) // a benign race: both writers make the same
                options

/// Per-call options as an F# value: start from `Options.none` and pipe it through the functions of the `Options`
/// module, one per option, each named after the `FusionCacheEntryOptions` property it sets. Only what you set
/// overrides the cache-wide defaults. Build it once and reuse it: it is converted once per cache it is used with.
[<Sealed>]
type Options internal (conversion: Conversion, token: CancellationToken) =
    member internal _.Conversion = conversion
    member internal _.Overrides = conversion.Overrides
    /// The token of the calls these options are given to (`Options.token`); default none.
    member _.CancellationToken = token

/// The functions that build an `Options` value: `Options.none |> Options.duration (TimeSpan.FromMinutes 5.0)`.
/// Each checks its value as `FusionCacheEntryOptions` does, throwing `ArgumentOutOfRangeException` at once.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Options =
    /// No override: the cache-wide defaults, and no cancellation token.
    let none = Options(Conversion Overrides.none, CancellationToken.None)

    let private change (options: Options) (overrides: Overrides) = Options(Conversion overrides, options.CancellationToken)

    // The C# class checks each value as it is given; a throwaway instance keeps the rules in one place.
    let inline private check (make: unit -> FusionCacheEntryOptions) = make () |> ignore

    /// The token of each call given these options: it cancels that caller's wait only (`Error(Cancelled _)`), as
    /// `FusionCache`'s `cancellationToken` argument does. Not used by `Factory.adapt`.
    let token (cancellationToken: CancellationToken) (options: Options) = Options(options.Conversion, cancellationToken)

    /// Logical lifetime of an entry (`Duration`; cache default 30 s).
    let duration (value: TimeSpan) (options: Options) =
        check (fun () -> FusionCacheEntryOptions(Duration = value))
        change options { options.Overrides with Duration = ValueSome value }

    /// Fail-safe on or off (`IsFailSafeEnabled`): keep entries until their physical expiry and serve them as fallback.
    let failSafe (enabled: bool) (options: Options) = change options { options.Overrides with FailSafe = ValueSome enabled }

    /// Physical lifetime with fail-safe on (`FailSafeMaxDuration`; default 1 day).
    let failSafeMaxDuration (value: TimeSpan) (options: Options) =
        check (fun () -> FusionCacheEntryOptions(FailSafeMaxDuration = value))
        change options { options.Overrides with FailSafeMaxDuration = ValueSome value }

    /// How long a value served by fail-safe counts as valid again (`FailSafeThrottleDuration`; default 30 s).
    let failSafeThrottleDuration (value: TimeSpan) (options: Options) =
        check (fun () -> FusionCacheEntryOptions(FailSafeThrottleDuration = value))
        change options { options.Overrides with FailSafeThrottleDuration = ValueSome value }

    /// Fail-safe activations allowed without a factory success (`MaxFailSafeCycles`; default unlimited).
    let maxFailSafeCycles (value: int) (options: Options) =
        check (fun () -> FusionCacheEntryOptions(MaxFailSafeCycles = value))
        change options { options.Overrides with MaxFailSafeCycles = ValueSome value }

    /// Past it, with fail-safe and a fallback, the fallback is served (`FactorySoftTimeout`; default infinite).
    let factorySoftTimeout (value: TimeSpan) (options: Options) =
        check (fun () -> FusionCacheEntryOptions(FactorySoftTimeout = value))
        change options { options.Overrides with FactorySoftTimeout = ValueSome value }

    /// Past it, the fallback if fail-safe allows, else `Error(FactoryTimedOut _)` (`FactoryHardTimeout`; default infinite).
    let factoryHardTimeout (value: TimeSpan) (options: Options) =
        check (fun () -> FusionCacheEntryOptions(FactoryHardTimeout = value))
        change options { options.Overrides with FactoryHardTimeout = ValueSome value }

    /// Whether a timed-out factory keeps running and its success updates the cache (default true).
    let allowTimedOutFactoryBackgroundCompletion (allowed: bool) (options: Options) =
        change options { options.Overrides with AllowTimedOutFactoryBackgroundCompletion = ValueSome allowed }

    /// Fraction in (0, 1) of the duration after which a hit starts one background refresh (default none).
    let eagerRefreshThreshold (value: float) (options: Options) =
        check (fun () -> FusionCacheEntryOptions(EagerRefreshThreshold = Nullable value))
        change options { options.Overrides with EagerRefreshThreshold = ValueSome value }

    /// Random extra logical lifetime in [0, value) (`JitterMaxDuration`; default 0).
    let jitterMaxDuration (value: TimeSpan) (options: Options) =
        check (fun () -> FusionCacheEntryOptions(JitterMaxDuration = value))
        change options { options.Overrides with JitterMaxDuration = ValueSome value }

    /// Whether `Cache.tryGet` may return a stale value (default false).
    let allowStaleOnReadOnly (allowed: bool) (options: Options) =
        change options { options.Overrides with AllowStaleOnReadOnly = ValueSome allowed }

    /// Logical lifetime in L2 (`DistributedCacheDuration`; default the duration).
    let distributedCacheDuration (value: TimeSpan) (options: Options) =
        check (fun () -> FusionCacheEntryOptions(DistributedCacheDuration = Nullable value))
        change options { options.Overrides with DistributedCacheDuration = ValueSome value }

    /// Past it, an L2 read is a miss (only with a fallback) and a write is queued for recovery (default infinite).
    let distributedCacheSoftTimeout (value: TimeSpan) (options: Options) =
        check (fun () -> FusionCacheEntryOptions(DistributedCacheSoftTimeout = value))
        change options { options.Overrides with DistributedCacheSoftTimeout = ValueSome value }

    /// Past it, an L2 read is a miss and a write is queued for recovery (default 1 s).
    let distributedCacheHardTimeout (value: TimeSpan) (options: Options) =
        check (fun () -> FusionCacheEntryOptions(DistributedCacheHardTimeout = value))
        change options { options.Overrides with DistributedCacheHardTimeout = ValueSome value }

    /// Whether L2 writes are fire-and-forget (default false).
    let allowBackgroundDistributedCacheOperations (allowed: bool) (options: Options) =
        change options { options.Overrides with AllowBackgroundDistributedCacheOperations = ValueSome allowed }

    /// Whether notifications to other nodes are fire-and-forget (default true).
    let allowBackgroundBackplaneOperations (allowed: bool) (options: Options) =
        change options { options.Overrides with AllowBackgroundBackplaneOperations = ValueSome allowed }

    /// Whether the call does not read L2 (default false).
    let skipDistributedCacheRead (skip: bool) (options: Options) =
        change options { options.Overrides with SkipDistributedCacheRead = ValueSome skip }

    /// Whether the call does not write L2 (default false).
    let skipDistributedCacheWrite (skip: bool) (options: Options) =
        change options { options.Overrides with SkipDistributedCacheWrite = ValueSome skip }

    /// Whether the call's writes are not announced to other nodes (default false).
    let skipBackplaneNotifications (skip: bool) (options: Options) =
        change options { options.Overrides with SkipBackplaneNotifications = ValueSome skip }

    /// Whether the call does not read L1, the memory level (default false).
    let skipMemoryCacheRead (skip: bool) (options: Options) =
        change options { options.Overrides with SkipMemoryCacheRead = ValueSome skip }

    /// Whether the call does not write L1, the memory level (default false).
    let skipMemoryCacheWrite (skip: bool) (options: Options) =
        change options { options.Overrides with SkipMemoryCacheWrite = ValueSome skip }

    /// Both `skipMemoryCacheRead` and `skipMemoryCacheWrite`.
    let skipMemoryCache (skip: bool) (options: Options) =
        change options { options.Overrides with SkipMemoryCacheRead = ValueSome skip; SkipMemoryCacheWrite = ValueSome skip }

    /// The tags the written entry carries: `Cache.removeByTag` (or `Cache.clear`) after the write makes it absent,
    /// `Cache.expireByTag` (or `Cache.expireAll`) stale. Each tag is a non-empty string (default none).
    let tags (tags: string list) (options: Options) =
        let tags = List.toArray tags
        check (fun () -> FusionCacheEntryOptions(Tags = tags))
        change options { options.Overrides with Tags = ValueSome tags }
