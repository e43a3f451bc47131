module Fusion.FSharp.Tests.OptionsTests

open System
open System.Threading
open Microsoft.Extensions.Time.Testing
open Xunit
open Fusion
open Fusion.FSharp
open Fusion.FSharp.Tests.Support

let private defaults = FusionCacheBuilder().WithDuration(TimeSpan.FromMinutes 7.0).Build().DefaultEntryOptions

[<Fact>]
let ``Options.none hands the cache no options object`` () =
    Assert.Null(Options.none.Conversion.For defaults)
    Assert.Null((Options.none |> Options.token (new CancellationTokenSource()).Token).Conversion.For defaults)

[<Fact>]
let ``every function sets the property it is named after, and nothing else`` () =
    let every =
        Options.none
        |> Options.duration (TimeSpan.FromSeconds 1.0)
        |> Options.failSafe true
        |> Options.failSafeMaxDuration (TimeSpan.FromSeconds 2.0)
        |> Options.failSafeThrottleDuration (TimeSpan.FromSeconds 3.0)
        |> Options.maxFailSafeCycles 4
        |> Options.factorySoftTimeout (TimeSpan.FromSeconds 5.0)
        |> Options.factoryHardTimeout (TimeSpan.FromSeconds 6.0)
        |> Options.allowTimedOutFactoryBackgroundCompletion false
        |> Options.eagerRefreshThreshold 0.7
        |> Options.jitterMaxDuration (TimeSpan.FromSeconds 8.0)
        |> Options.allowStaleOnReadOnly true
        |> Options.distributedCacheDuration (TimeSpan.FromSeconds 9.0)
        |> Options.distributedCacheSoftTimeout (TimeSpan.FromSeconds 10.0)
        |> Options.distributedCacheHardTimeout (TimeSpan.FromSeconds 11.0)
        |> Options.allowBackgroundDistributedCacheOperations true
        |> Options.allowBackgroundBackplaneOperations false
        |> Options.skipDistributedCacheRead true
        |> Options.skipDistributedCacheWrite true
        |> Options.skipBackplaneNotifications true
        |> Options.skipMemoryCacheRead true
        |> Options.skipMemoryCacheWrite true
        |> Options.tags [ "a"; "b" ]
    match every.Conversion.For defaults with
    | null -> failwith "expected options"
    | o ->
        Assert.Equal(TimeSpan.FromSeconds 1.0, o.Duration)
        Assert.True(o.IsFailSafeEnabled)
        Assert.Equal(TimeSpan.FromSeconds 2.0, o.FailSafeMaxDuration)
        Assert.Equal(TimeSpan.FromSeconds 3.0, o.FailSafeThrottleDuration)
        Assert.Equal(4, o.MaxFailSafeCycles)
        Assert.Equal(TimeSpan.FromSeconds 5.0, o.FactorySoftTimeout)
        Assert.Equal(TimeSpan.FromSeconds 6.0, o.FactoryHardTimeout)
        Assert.False(o.AllowTimedOutFactoryBackgroundCompletion)
        Assert.Equal(Nullable 0.7, o.EagerRefreshThreshold)
        Assert.Equal(TimeSpan.FromSeconds 8.0, o.JitterMaxDuration)
        Assert.True(o.AllowStaleOnReadOnly)
        Assert.Equal(Nullable(TimeSpan.FromSeconds 9.0), o.DistributedCacheDuration)
        Assert.Equal(TimeSpan.FromSeconds 10.0, o.DistributedCacheSoftTimeout)
        Assert.Equal(TimeSpan.FromSeconds 11.0, o.DistributedCacheHardTimeout)
        Assert.True(o.AllowBackgroundDistributedCacheOperations)
        Assert.False(o.AllowBackgroundBackplaneOperations)
        Assert.True(o.SkipDistributedCacheRead)
        Assert.True(o.SkipDistributedCacheWrite)
        Assert.True(o.SkipBackplaneNotifications)
        Assert.True(o.SkipMemoryCacheRead)
        Assert.True(o.SkipMemoryCacheWrite)
        Assert.Equal<string seq>([ "a"; "b" ], o.Tags |> Option.ofObj |> Option.defaultValue [||])

[<Fact>]
let ``what is not set follows the cache's defaults`` () =
    match (Options.none |> Options.failSafe true).Conversion.For defaults with
    | null -> failwith "expected options"
    | o ->
        Assert.Equal(TimeSpan.FromMinutes 7.0, o.Duration)
        Assert.Equal(defaults.FailSafeThrottleDuration, o.FailSafeThrottleDuration)
        Assert.Null(o.Tags)

[<Fact>]
let ``skipMemoryCache sets both skips`` () =
    match (Options.none |> Options.skipMemoryCache true).Conversion.For defaults with
    | null -> failwith "expected options"
    | o -> Assert.True(o.SkipMemoryCacheRead && o.SkipMemoryCacheWrite)

[<Fact>]
let ``a reused Options value is converted once per cache, and its token variants share the conversion`` () =
    let fast = Options.none |> Options.duration (TimeSpan.FromSeconds 10.0)
    let first = fast.Conversion.For defaults
    Assert.Same(first, fast.Conversion.For defaults)
    Assert.Same(first, (fast |> Options.token CancellationToken.None).Conversion.For defaults)
    let other = FusionCacheBuilder().Build().DefaultEntryOptions
    Assert.NotSame(first, fast.Conversion.For other)

[<Fact>]
let ``an invalid value throws at once, naming the option`` () =
    let duration = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Options.none |> Options.duration (TimeSpan.FromSeconds -1.0) |> ignore)
    Assert.Equal("Duration", duration.ParamName)
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> Options.none |> Options.eagerRefreshThreshold 1.5 |> ignore) |> ignore
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> Options.none |> Options.tags [ "" ] |> ignore) |> ignore
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> Options.none |> Options.maxFailSafeCycles -1 |> ignore) |> ignore

[<Fact>]
let ``per-call options override only what they set`` () =
    task {
        let clock = FakeTimeProvider()
        use cache = cacheOn clock (fun b -> b.WithDuration(TimeSpan.FromMinutes 10.0))
        let source = counted 1
        let! _ = cache |> Cache.getOrSetWith failSafe "k" source.Factory
        clock.Advance(TimeSpan.FromMinutes 5.0)
        let! _ = cache |> Cache.getOrSetWith failSafe "k" source.Factory
        Assert.Equal(1, source.Runs) // still the cache's 10 minutes, not the core's 30 s
    }
