/// The F# blocks of docs/fsharp.md, each between markers, compiled and run (DocsInSyncTests checks the page shows this
/// text). Each sits in a module of its own, so the blocks may reuse names.
module Fusion.FSharp.Tests.DocsExamples

open System
open System.Threading
open System.Threading.Tasks
open Xunit
open Fusion
open Fusion.FSharp

type Product = { Id: int; Name: string }

type Quote = { Price: decimal; ValidFor: TimeSpan }

/// The stand-in source the examples call.
module Db =
    let loadProduct (id: int) (_: CancellationToken) : Task<Result<Product, Err>> =
        Task.FromResult(if id > 0 then Ok { Id = id; Name = $"product {id}" } else Error(Err.Of $"no product {id}"))

    let loadProductOrThrow (id: int) : Task<Product> =
        if id > 0 then Task.FromResult { Id = id; Name = $"product {id}" } else Task.FromException<Product>(TimeoutException "db timeout")

    let loadRates (_: CancellationToken) : Task<Result<Map<string, decimal>, Err>> = Task.FromResult(Error(Err.Of "rates service down"))

    let loadQuote (symbol: string) : Task<Quote> = Task.FromResult { Price = 101.5m; ValidFor = TimeSpan.FromSeconds 15.0 }

let private newCache () = FusionCacheBuilder().WithDuration(TimeSpan.FromMinutes 5.0).Build()

module GettingStarted =
    // --- docs/fsharp.md: getting started ---
    open System
    open Fusion
    open Fusion.FSharp

    let cache = FusionCacheBuilder().WithCapacity(10_000).WithDuration(TimeSpan.FromMinutes 5.0).Build()

    let product (id: int) : Task<Result<Product, Err>> =
        cache |> Cache.getOrSet $"product:{id}" (fun ctx -> Db.loadProduct id ctx.CancellationToken)
    // --- end ---

    [<Fact>]
    let ``getting started`` () =
        task {
            let! found = product 1
            Assert.Equal(Ok { Id = 1; Name = "product 1" }, found)
        }

module PerCallOptions =
    let cache = newCache ()

    // --- docs/fsharp.md: options ---
    let fast =
        Options.none
        |> Options.duration (TimeSpan.FromSeconds 10.0)
        |> Options.eagerRefreshThreshold 0.8

    let resilient =
        Options.none
        |> Options.failSafe true
        |> Options.factorySoftTimeout (TimeSpan.FromMilliseconds 100.0)
        |> Options.factoryHardTimeout (TimeSpan.FromSeconds 2.0)

    let product (cancellationToken: CancellationToken) (id: int) =
        let options = resilient |> Options.token cancellationToken
        cache |> Cache.getOrSetWith options $"product:{id}" (fun ctx -> Db.loadProduct id ctx.CancellationToken)
    // --- end ---

    [<Fact>]
    let ``options`` () =
        task {
            let! found = product CancellationToken.None 2
            let! again = cache |> Cache.getOrSetWith fast "fast" (fun _ -> task { return Ok 1 })
            Assert.Equal(Ok { Id = 2; Name = "product 2" }, found)
            Assert.Equal(Ok 1, again)
        }

module Errors =
    let cache = newCache ()

    // --- docs/fsharp.md: errors ---
    let describe (result: Result<Product, Err>) =
        match result with
        | Ok product -> product.Name
        | Error(FactoryFailed(reason, _)) -> $"the source failed: {reason}"
        | Error(FactoryTimedOut after) -> $"the source took longer than {after}"
        | Error(Cancelled _) -> "cancelled"
        | Error err -> err.Message

    let product (id: int) : Task<Result<Product, Err>> =
        cache |> Cache.getOrSet $"product:{id}" (fun _ ->
            task {
                try
                    let! product = Db.loadProductOrThrow id
                    return Ok product
                with :? TimeoutException as ex ->
                    return Error(Err.Of ex) // or let it throw: the same Error(FactoryFailed _)
            })
    // --- end ---

    [<Fact>]
    let ``errors`` () =
        task {
            let! found = product 3
            let! failed = product -1
            Assert.Equal("product 3", describe found)
            Assert.Equal("the source failed: db timeout", describe failed)
        }

module FailSafeDefault =
    let cache = newCache ()

    // --- docs/fsharp.md: fail-safe default ---
    let rates () =
        let failSafe = Options.none |> Options.failSafe true
        cache |> Cache.getOrSetWithDefault (Some Map.empty) failSafe "rates" (fun ctx -> Db.loadRates ctx.CancellationToken)
    // --- end ---

    [<Fact>]
    let ``fail-safe default`` () =
        task {
            let! served = rates ()
            Assert.Equal(Ok Map.empty, served)
        }

module ConditionalRefresh =
    let clock = Microsoft.Extensions.Time.Testing.FakeTimeProvider()
    let cache = FusionCacheBuilder().WithTimeProvider(clock).WithDuration(TimeSpan.FromMinutes 1.0).Build()

    // --- docs/fsharp.md: conditional refresh ---
    /// What an HTTP source answers a request with If-None-Match: 304, or a new body and its ETag.
    type Fetched =
        | NotModified
        | Changed of body: string * etag: string

    let page (fetch: string option -> Task<Fetched>) : Task<Result<string, Err>> =
        cache |> Cache.getOrSetWith (Options.none |> Options.failSafe true) "page:/" (fun ctx ->
            task {
                match! fetch ctx.StaleETag with
                | NotModified -> return Factory.notModified ctx
                | Changed(body, etag) -> return ctx |> Factory.modified body (Some etag) None
            })
    // --- end ---

    [<Fact>]
    let ``conditional refresh`` () =
        task {
            let mutable sent = []
            let fetch (etag: string option) =
                sent <- etag :: sent
                Task.FromResult(if etag = Some "\"v1\"" then NotModified else Changed("<html>", "\"v1\""))
            let! first = page fetch
            clock.Advance(TimeSpan.FromMinutes 2.0)
            let! second = page fetch
            Assert.Equal(Ok "<html>", first)
            Assert.Equal(Ok "<html>", second)
            Assert.Equal<string option list>([ Some "\"v1\""; None ], sent)
        }

module Adaptive =
    let cache = newCache ()

    // --- docs/fsharp.md: adaptive caching ---
    let quote (symbol: string) : Task<Result<decimal, Err>> =
        cache |> Cache.getOrSet $"quote:{symbol}" (fun ctx ->
            task {
                let! quote = Db.loadQuote symbol
                // The source says how long the quote holds; the entry is also tagged for invalidation.
                ctx |> Factory.adapt (Options.none |> Options.duration quote.ValidFor |> Options.tags [ $"symbol:{symbol}" ])
                return Ok quote.Price
            })
    // --- end ---

    [<Fact>]
    let ``adaptive caching`` () =
        task {
            let! price = quote "FUSN"
            do! cache |> Cache.removeByTag "symbol:FUSN"
            let! cached = cache |> Cache.tryGet<decimal> "quote:FUSN"
            Assert.Equal(Ok 101.5m, price)
            Assert.Equal(None, cached)
        }

module Commands =
    let cache = newCache ()

    // --- docs/fsharp.md: commands ---
    let rename (product: Product) =
        task {
            let key = $"product:{product.Id}"
            do! cache |> Cache.setWith (Options.none |> Options.tags [ "products" ]) key product
            let! cached = cache |> Cache.tryGet<Product> key // Some product
            do! cache |> Cache.expire key // stale: the next getOrSet runs its factory (the value stays a fallback)
            do! cache |> Cache.removeByTag "products" // every entry tagged "products": absent
            return cached
        }
    // --- end ---

    [<Fact>]
    let ``commands`` () =
        task {
            let product = { Id = 4; Name = "renamed" }
            let! cached = rename product
            let! after = cache |> Cache.tryGet<Product> "product:4"
            Assert.Equal(Some product, cached)
            Assert.Equal(None, after)
        }

module Testing =
    // --- docs/fsharp.md: testing ---
    open System
    open Microsoft.Extensions.Time.Testing
    open Xunit
    open Fusion
    open Fusion.FSharp

    [<Fact>]
    let ``a failing source is served the last good value`` () =
        task {
            let clock = FakeTimeProvider()
            use cache =
                FusionCacheBuilder()
                    .WithTimeProvider(clock)
                    .WithDuration(TimeSpan.FromMinutes 1.0)
                    .WithFailSafe()
                    .Build()
            let! first = cache |> Cache.getOrSet "rate" (fun _ -> task { return Ok 1.25m })
            clock.Advance(TimeSpan.FromMinutes 2.0) // past the duration: the entry is stale
            let! second = cache |> Cache.getOrSet "rate" (fun _ -> task { return Error(Err.Of "source down") })
            Assert.Equal(Ok 1.25m, first)
            Assert.Equal(Ok 1.25m, second)
        }
    // --- end ---

module Package =
    // --- src/FusionCache.FSharp/PACKAGE.md: package ---
    open System
    open Fusion
    open Fusion.FSharp

    let cache = FusionCacheBuilder().WithDuration(TimeSpan.FromMinutes 5.0).Build()

    let answer () =
        cache |> Cache.getOrSet "answer" (fun _ -> task { return Ok 42 })   // Task<Result<int, Err>>
    // --- end ---

    [<Fact>]
    let ``the package's readme`` () =
        task {
            let! found = answer ()
            Assert.Equal(Ok 42, found)
        }
