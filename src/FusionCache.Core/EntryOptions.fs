namespace Fusion.Core

open System
open System.Threading

/// The entry options of SEMANTICS §2 as the core reads them. Build it through
/// `EntryOptions.Default` and `with`; `EntryOptions.validate` lists what is wrong with one.
[<NoComparison>]
type EntryOptions =
    { /// Logical lifetime. Default 30 s.
      Duration: TimeSpan
      /// Keep entries until their physical expiry and serve them as fallback. Default false.
      IsFailSafeEnabled: bool
      /// Physical lifetime when fail-safe is on (raised to Duration if lower). Default 1 day.
      FailSafeMaxDuration: TimeSpan
      /// How long a value served by fail-safe counts as valid again. Default 30 s.
      FailSafeThrottleDuration: TimeSpan
      /// Fail-safe activations allowed without a factory success. Default `Int32.MaxValue` (unlimited).
      MaxFailSafeCycles: int
      /// Past it, the fallback is returned (only with fail-safe and a fallback). Default infinite.
      FactorySoftTimeout: TimeSpan
      /// Past it, the fallback or a timeout error is returned. Default infinite.
      FactoryHardTimeout: TimeSpan
      /// A timed-out factory keeps running and its success updates the cache. Default true.
      AllowTimedOutFactoryBackgroundCompletion: bool
      /// Fraction of Duration after which a hit starts one background refresh. Default none.
      EagerRefreshThreshold: float voption
      /// Random extra logical lifetime in [0, JitterMaxDuration). Default 0.
      JitterMaxDuration: TimeSpan
      /// `TryGet` may return a stale (fallback) value. Default false.
      AllowStaleOnReadOnly: bool
      /// L2 logical lifetime; `ValueNone` means the same as Duration. Default none.
      DistributedCacheDuration: TimeSpan voption
      /// Past it an L2 read is abandoned (a miss) when a fallback exists, and a write always. Default infinite.
      DistributedCacheSoftTimeout: TimeSpan
      /// Past it an L2 operation is abandoned (a read is a miss, a write is queued for recovery).
      /// Default 1 s: a paused or stalled Redis never holds a caller much longer than that.
      DistributedCacheHardTimeout: TimeSpan
      /// L2 writes are fire-and-forget: callers do not wait for them. Default false.
      AllowBackgroundDistributedCacheOperations: bool
      /// Backplane publishes are fire-and-forget. Default true.
      AllowBackgroundBackplaneOperations: bool
      /// Do not read L2 for this call. Default false.
      SkipDistributedCacheRead: bool
      /// Do not write L2 for this call. Default false.
      SkipDistributedCacheWrite: bool
      /// Do not tell other nodes about this call's writes. Default false.
      SkipBackplaneNotifications: bool
      /// Do not read L1 for this call: no hit, no fallback and no stale value from it (L2 and the factory
      /// only; the call is still single-flighted). Default false.
      SkipMemoryCacheRead: bool
      /// Do not store this call's result in L1; a write still drops this node's older copy, so no later
      /// read here returns a value older than it (invariant 11). Default false.
      SkipMemoryCacheWrite: bool
      /// The tags the written entry carries (`RemoveByTag`). Default none (an empty array, never null).
      Tags: string[] }

/// The rules for each option, one function per kind of value: each returns null when the value
/// is valid, else a message that names the option and the value.
module OptionRules =
    let private fail (name: string) (value: obj) (why: string) : string | null =
        $"{name} = {value} is invalid: {why}"

    /// A duration: zero or more, never infinite.
    let duration (name: string) (value: TimeSpan) : string | null =
        if value < TimeSpan.Zero then fail name value "it must not be negative"
        else null

    /// A timeout: more than zero, or `Timeout.InfiniteTimeSpan`.
    let timeout (name: string) (value: TimeSpan) : string | null =
        if value = Timeout.InfiniteTimeSpan || value > TimeSpan.Zero then null
        else fail name value "it must be positive or Timeout.InfiniteTimeSpan"

    /// A fraction strictly between 0 and 1 (NaN is rejected).
    let threshold (name: string) (value: float) : string | null =
        if Double.IsNaN value || value <= 0.0 || value >= 1.0 then
            fail name value "it must be strictly between 0 and 1"
        else null

    /// A count: zero or more.
    let count (name: string) (value: int) : string | null =
        if value < 0 then fail name value "it must not be negative" else null

module EntryOptions =
    /// The defaults of SEMANTICS §2.
    let Default: EntryOptions =
        { Duration = TimeSpan.FromSeconds 30.0
          IsFailSafeEnabled = false
          FailSafeMaxDuration = TimeSpan.FromDays 1.0
          FailSafeThrottleDuration = TimeSpan.FromSeconds 30.0
          MaxFailSafeCycles = Int32.MaxValue
          FactorySoftTimeout = Timeout.InfiniteTimeSpan
          FactoryHardTimeout = Timeout.InfiniteTimeSpan
          AllowTimedOutFactoryBackgroundCompletion = true
          EagerRefreshThreshold = ValueNone
          JitterMaxDuration = TimeSpan.Zero
          AllowStaleOnReadOnly = false
          DistributedCacheDuration = ValueNone
          DistributedCacheSoftTimeout = Timeout.InfiniteTimeSpan
          DistributedCacheHardTimeout = TimeSpan.FromSeconds 1.0
          AllowBackgroundDistributedCacheOperations = false
          AllowBackgroundBackplaneOperations = true
          SkipDistributedCacheRead = false
          SkipDistributedCacheWrite = false
          SkipBackplaneNotifications = false
          SkipMemoryCacheRead = false
          SkipMemoryCacheWrite = false
          Tags = [||] }

    /// How long an L2 write may take: a write has its value in hand, so the soft timeout applies to it
    /// as well as the hard one (a cut write is queued for recovery).
    let distributedWriteTimeout (o: EntryOptions) : TimeSpan =
        let struct (limit, _) = Ticks.firstTimeout o.DistributedCacheSoftTimeout o.DistributedCacheHardTimeout
        limit

    /// The L2 logical lifetime: DistributedCacheDuration, or Duration when it is not set.
    let distributedDuration (o: EntryOptions) : TimeSpan =
        match o.DistributedCacheDuration with
        | ValueSome d -> d
        | ValueNone -> o.Duration

    /// Every problem with `o`, one message per invalid option; empty when `o` is valid.
    let validate (o: EntryOptions) : string array =
        [| OptionRules.duration (nameof o.Duration) o.Duration
           OptionRules.duration (nameof o.FailSafeMaxDuration) o.FailSafeMaxDuration
           OptionRules.duration (nameof o.FailSafeThrottleDuration) o.FailSafeThrottleDuration
           OptionRules.count (nameof o.MaxFailSafeCycles) o.MaxFailSafeCycles
           OptionRules.timeout (nameof o.FactorySoftTimeout) o.FactorySoftTimeout
           OptionRules.timeout (nameof o.FactoryHardTimeout) o.FactoryHardTimeout
           (match o.EagerRefreshThreshold with
            | ValueSome t -> OptionRules.threshold (nameof o.EagerRefreshThreshold) t
            | ValueNone -> null)
           OptionRules.duration (nameof o.JitterMaxDuration) o.JitterMaxDuration
           (match o.DistributedCacheDuration with
            | ValueSome d -> OptionRules.duration (nameof o.DistributedCacheDuration) d
            | ValueNone -> null)
           OptionRules.timeout (nameof o.DistributedCacheSoftTimeout) o.DistributedCacheSoftTimeout
           OptionRules.timeout (nameof o.DistributedCacheHardTimeout) o.DistributedCacheHardTimeout |]
        |> Array.choose (fun m -> match m with null -> None | m -> Some m)
