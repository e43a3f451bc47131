/// Cache.tryGet, set, remove, expire and the tag commands.
module Fusion.FSharp.Tests.CommandTests

open System
open Microsoft.Extensions.Time.Testing
open Xunit
open Fusion
open Fusion.FSharp
open Fusion.FSharp.Tests.Support

[<Fact>]
let ``tryGet is Some after set and None for a missing key or another type`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        do! cache |> Cache.set "k" 42
        let! found = cache |> Cache.tryGet<int> "k"
        let! missing = cache |> Cache.tryGet<int> "other"
        let! wrongType = cache |> Cache.tryGet<string> "k"
        Assert.Equal(Some 42, found)
        Assert.Equal(None, missing)
        Assert.Equal(None, wrongType)
    }

[<Fact>]
let ``setWith writes with the call's options`` () =
    task {
        let clock = FakeTimeProvider()
        use cache = cacheOn clock id
        do! cache |> Cache.setWith (Options.none |> Options.duration (TimeSpan.FromHours 1.0)) "k" "v"
        clock.Advance(TimeSpan.FromMinutes 30.0)
        let! found = cache |> Cache.tryGet<string> "k"
        Assert.Equal(Some "v", found)
    }

[<Fact>]
let ``set supersedes the value getOrSet would return`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        let! _ = cache |> Cache.getOrSet "k" (counted 1).Factory
        do! cache |> Cache.set "k" 2
        let! value = cache |> Cache.getOrSet "k" (counted 3).Factory
        Assert.Equal(Ok 2, value)
    }

[<Fact>]
let ``remove makes the key absent, as a fallback too`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        do! cache |> Cache.setWith failSafe "k" 1
        do! cache |> Cache.remove "k"
        let! found = cache |> Cache.tryGetWith<int> stale "k"
        let! served = cache |> Cache.getOrSetWith failSafe "k" (failing ())
        Assert.Equal(None, found)
        Assert.Equal(Error(Err.Of "source down"), served)
    }

[<Fact>]
let ``removeWith and expireWith take the call's options`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        do! cache |> Cache.set "a" 1
        do! cache |> Cache.set "b" 1
        do! cache |> Cache.removeWith (Options.none |> Options.skipBackplaneNotifications true) "a"
        do! cache |> Cache.expireWith (Options.none |> Options.skipBackplaneNotifications true) "b"
        let! a = cache |> Cache.tryGet<int> "a"
        let! b = cache |> Cache.tryGet<int> "b"
        Assert.Equal((None, None), (a, b))
    }

[<Fact>]
let ``expire makes the key stale: tryGet misses it, stale reads and fail-safe still see it`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        do! cache |> Cache.setWith failSafe "k" 1
        do! cache |> Cache.expire "k"
        let! fresh = cache |> Cache.tryGet<int> "k"
        let! staleRead = cache |> Cache.tryGetWith<int> stale "k"
        let! served = cache |> Cache.getOrSetWith failSafe "k" (failing ())
        Assert.Equal(None, fresh)
        Assert.Equal(Some 1, staleRead)
        Assert.Equal(Ok 1, served)
    }

[<Fact>]
let ``removeByTag makes the tagged entries absent and leaves the others`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        do! cache |> Cache.setWith (Options.none |> Options.tags [ "user:1" ]) "orders:1" 10
        do! cache |> Cache.set "orders:2" 20
        do! cache |> Cache.removeByTag "user:1"
        let! tagged = cache |> Cache.tryGetWith<int> stale "orders:1"
        let! untagged = cache |> Cache.tryGet<int> "orders:2"
        Assert.Equal(None, tagged)
        Assert.Equal(Some 20, untagged)
    }

[<Fact>]
let ``expireByTag makes the tagged entries stale: still a fallback`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        let tagged = failSafe |> Options.tags [ "t" ]
        do! cache |> Cache.setWith tagged "k" 1
        do! cache |> Cache.expireByTag "t"
        let! fresh = cache |> Cache.tryGet<int> "k"
        let! served = cache |> Cache.getOrSetWith failSafe "k" (failing ())
        Assert.Equal(None, fresh)
        Assert.Equal(Ok 1, served)
    }

[<Fact>]
let ``clear makes every entry absent; expireAll makes them stale`` () =
    task {
        use cache = cacheOn (FakeTimeProvider()) id
        do! cache |> Cache.setWith failSafe "a" 1
        do! cache |> Cache.clear
        let! cleared = cache |> Cache.tryGetWith<int> stale "a"
        do! cache |> Cache.setWith failSafe "b" 2
        do! cache |> Cache.expireAll
        let! expired = cache |> Cache.tryGet<int> "b"
        let! served = cache |> Cache.getOrSetWith failSafe "b" (failing ())
        Assert.Equal(None, cleared)
        Assert.Equal(None, expired)
        Assert.Equal(Ok 2, served)
    }

[<Fact>]
let ``programmer errors throw: an empty key, a null value`` () =
    use cache = cacheOn (FakeTimeProvider()) id
    Assert.ThrowsAny<ArgumentException>(fun () -> cache |> Cache.tryGet<int> "" |> ignore) |> ignore
    Assert.ThrowsAny<ArgumentException>(fun () -> cache |> Cache.set "k" (Unchecked.defaultof<string>) |> ignore) |> ignore
