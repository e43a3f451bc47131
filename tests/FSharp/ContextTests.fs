module Fusion.FSharp.Tests.ContextTests

open System
open System.Threading.Tasks
open Microsoft.Extensions.Time.Testing
open Xunit
open Fusion
open Fusion.FSharp
open Fusion.FSharp.Tests.Support

[<Fact>]
let ``the context gives the key, and no stale value on a first run`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        let mutable seen = ("", Some -1, Some "etag", Some DateTimeOffset.MaxValue)
        let! _ =
            cache |> Cache.getOrSet "user:1" (fun ctx ->
                seen <- (ctx.Key, ctx.StaleValue, ctx.StaleETag, ctx.StaleLastModified)
                task { return Ok 1 })
        Assert.Equal(("user:1", None, None, None), seen)
    }

[<Fact>]
let ``with fail-safe, a later run gets the stale value with its ETag and LastModified`` () =
    task {
        let clock = FakeTimeProvider()
        use cache = cacheOn clock id
        let changed = DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero)
        let! _ = cache |> Cache.getOrSetWith failSafe "page" (fun ctx -> task { return ctx |> Factory.modified "v1" (Some "\"e1\"") (Some changed) })
        clock.Advance(TimeSpan.FromMinutes 2.0)
        let mutable seen = (None, None, None)
        let! _ =
            cache |> Cache.getOrSetWith failSafe "page" (fun ctx ->
                seen <- (ctx.StaleValue, ctx.StaleETag, ctx.StaleLastModified)
                task { return Ok "v2" })
        Assert.Equal((Some "v1", Some "\"e1\"", Some changed), seen)
    }

[<Fact>]
let ``notModified stores the stale value again as fresh and returns it`` () =
    task {
        let clock = FakeTimeProvider()
        use cache = cacheOn clock id
        let source = Counted(fun run -> Ok $"v{run}")
        let! first = cache |> Cache.getOrSetWith failSafe "page" (fun ctx -> task { return ctx |> Factory.modified "v1" (Some "e1") None })
        clock.Advance(TimeSpan.FromMinutes 2.0)
        let! second = cache |> Cache.getOrSetWith failSafe "page" (fun ctx -> task { return Factory.notModified ctx })
        let! third = cache |> Cache.getOrSetWith failSafe "page" source.Factory
        Assert.Equal(Ok "v1", first)
        Assert.Equal(Ok "v1", second)
        Assert.Equal(Ok "v1", third) // fresh again: no run
        Assert.Equal(0, source.Runs)
    }

[<Fact>]
let ``notModified with no stale value is a factory failure`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        match! cache |> Cache.getOrSet "page" (fun ctx -> task { return Factory.notModified ctx }) with
        | Error(FactoryFailed(reason, _)) -> Assert.Contains("not modified", reason)
        | other -> failwith $"expected FactoryFailed, got {other}"
    }

[<Fact>]
let ``adapt sets the produced entry's options`` () =
    task {
        let clock = FakeTimeProvider()
        use cache = cacheOn clock id
        let hour = Options.none |> Options.duration (TimeSpan.FromHours 1.0)
        let source = counted "v"
        let factory (ctx: Context<string>) =
            ctx |> Factory.adapt (Options.none |> Options.duration (TimeSpan.FromMinutes 1.0))
            source.Factory ctx
        let! _ = cache |> Cache.getOrSetWith hour "k" factory
        clock.Advance(TimeSpan.FromMinutes 2.0)
        let! _ = cache |> Cache.getOrSetWith hour "k" factory
        Assert.Equal(2, source.Runs)
    }

[<Fact>]
let ``adapt lays its options over the caller's, not over the cache's`` () =
    task {
        let clock = FakeTimeProvider()
        use cache = cacheOn clock id
        let! _ =
            cache |> Cache.getOrSetWith failSafe "k" (fun ctx ->
                ctx |> Factory.adapt (Options.none |> Options.duration (TimeSpan.FromSeconds 10.0))
                task { return Ok "v1" })
        clock.Advance(TimeSpan.FromMinutes 5.0)
        // Written with the caller's fail-safe: still a fallback past its 10 s.
        let! served = cache |> Cache.getOrSetWith failSafe "k" (failing ())
        Assert.Equal(Ok "v1", served)
    }

[<Fact>]
let ``the C# context underneath is the one the cache made`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        let! key = cache |> Cache.getOrSet "k" (fun ctx -> task { return Ok ctx.FactoryContext.Key })
        Assert.Equal(Ok "k", key)
    }
