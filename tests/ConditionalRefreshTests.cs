using Fusion.Tests.Support;
using LanguageExt;

namespace Fusion.Tests;

/// <summary>
/// Conditional refresh (SEMANTICS §4b): a factory stores its source's ETag / LastModified with the value; the next run
/// is given them with the stale value and may answer "not modified", which stores the stale value again as fresh.
/// </summary>
public sealed class ConditionalRefreshTests
{
    private static readonly TimeSpan Ten = TimeSpan.FromSeconds(10);
    private static readonly DateTimeOffset Monday = new(2029, 12, 31, 8, 0, 0, TimeSpan.FromHours(2));

    /// <summary>A source that answers like an HTTP server: 304 when the caller's ETag is current, else the body.</summary>
    private sealed class Source
    {
        public string Body = "v1";
        public string ETag = "\"e1\"";
        public readonly List<string?> Asked = [];

        public Task<Either<Err, string>> Fetch(FactoryContext<string> ctx)
        {
            Asked.Add(ctx.StaleETag);
            return Task.FromResult(ctx.StaleETag == ETag && ctx.StaleValue.IsSome
                ? ctx.NotModified()
                : ctx.Modified(Body, ETag, Monday));
        }
    }

    [Fact]
    public async Task NotModified_StoresTheStaleValueAgainAsFresh_WithoutANewPayload()
    {
        using var t = TestCache.WithFailSafe(Ten);
        var source = new Source();
        Assert.Equal("v1", await Expect.Right(t.Cache.GetOrSet<string>("k", source.Fetch)));
        source.Body = "would be new, but the ETag says not modified";

        t.Advance(TimeSpan.FromSeconds(11)); // stale
        Assert.Equal("v1", await Expect.Right(t.Cache.GetOrSet<string>("k", source.Fetch)));
        Assert.Equal([null, "\"e1\""], source.Asked); // the second run was given the stored ETag

        // Fresh again for a whole Duration from the refresh: no call, and TryGet (fresh values only) sees it.
        t.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal("v1", await Expect.Right(t.Cache.GetOrSet<string>("k", source.Fetch)));
        Assert.Equal("v1", await t.Cached<string>("k"));
        Assert.Equal(2, source.Asked.Count);
    }

    [Fact]
    public async Task TheContext_CarriesTheStaleValuesETagAndLastModified_AndNotModifiedKeepsThem()
    {
        using var t = TestCache.WithFailSafe(Ten);
        var seen = new List<(string? ETag, DateTimeOffset? LastModified, string? Stale)>();
        var factory = TestFactory<string>.From(ctx =>
        {
            seen.Add((ctx.StaleETag, ctx.StaleLastModified, ctx.StaleValue.Case as string));
            return Task.FromResult(seen.Count == 1 ? ctx.Modified("v", "\"a\"", Monday) : ctx.NotModified());
        });

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("v", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
            t.Advance(TimeSpan.FromSeconds(11));
        }

        Assert.Equal((null, null, null), seen[0]);
        // LastModified comes back as the same instant, in UTC.
        Assert.Equal(("\"a\"", Monday.ToUniversalTime(), "v"), seen[1]);
        Assert.Equal(TimeSpan.Zero, seen[1].LastModified!.Value.Offset);
        Assert.Equal(("\"a\"", Monday.ToUniversalTime(), "v"), seen[2]); // kept through a not-modified
    }

    [Fact]
    public async Task NotModified_WithNewValidators_ReplacesOnlyWhatItGives()
    {
        using var t = TestCache.WithFailSafe(Ten);
        var seen = new List<(string? ETag, DateTimeOffset? LastModified)>();
        var later = Monday.AddDays(1);
        var factory = TestFactory<string>.From(ctx =>
        {
            seen.Add((ctx.StaleETag, ctx.StaleLastModified));
            if (seen.Count == 1) return Task.FromResult(ctx.Modified("v", "\"a\"", Monday));
            ctx.LastModified = later; // the server sent a new Last-Modified with its 304, and no ETag
            return Task.FromResult(ctx.NotModified());
        });

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("v", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
            t.Advance(TimeSpan.FromSeconds(11));
        }

        Assert.Equal(("\"a\"", later.ToUniversalTime()), seen[2]);
    }

    [Fact]
    public async Task ANewValueWithoutValidators_DropsTheOldOnes()
    {
        using var t = TestCache.WithFailSafe(Ten);
        var seen = new List<string?>();
        var factory = TestFactory<string>.From(ctx =>
        {
            seen.Add(ctx.StaleETag);
            return Task.FromResult(seen.Count == 1 ? ctx.Modified("v1", "\"a\"") : Either<Err, string>.Right($"v{seen.Count}"));
        });

        for (var i = 0; i < 3; i++)
        {
            await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke));
            t.Advance(TimeSpan.FromSeconds(11));
        }

        Assert.Equal([null, "\"a\"", null], seen);
    }

    [Fact]
    public async Task NotModified_WithoutAStaleValue_IsAFactoryError_AndNothingIsCached()
    {
        using var t = TestCache.Create();
        var factory = TestFactory<string>.From(ctx => Task.FromResult(ctx.NotModified()));

        var error = await Expect.Left(t.Cache.GetOrSet<string>("k", factory.Invoke));

        var failed = Assert.IsType<Err.FactoryFailed>(error);
        Assert.Contains("not modified", failed.Reason);
        Assert.Contains("'k'", failed.Reason);
        Assert.Null(await t.Cached<string>("k"));
    }

    [Fact]
    public async Task NotModified_DuringAnEagerRefresh_ExtendsTheStillValidValue()
    {
        using var t = TestCache.Create(b => b.WithDuration(Ten));
        var options = new FusionCacheEntryOptions { EagerRefreshThreshold = 0.5 };
        var refreshed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        var factory = TestFactory<string>.From(ctx =>
        {
            if (Interlocked.Increment(ref runs) == 1) return Task.FromResult(ctx.Modified("v", "\"a\""));
            var answer = ctx.StaleETag == "\"a\"" ? ctx.NotModified() : Either<Err, string>.Right("changed");
            refreshed.TrySetResult();
            return Task.FromResult(answer);
        });
        Assert.Equal("v", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke, options)));

        t.Advance(TimeSpan.FromSeconds(6)); // past the threshold: the hit answers and refreshes in the background
        Assert.Equal("v", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke, options)));
        await refreshed.Task.WaitAsync(Eventually.Bound);
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "the refresh ended");

        t.Advance(TimeSpan.FromSeconds(6)); // 12 s after the first write: alive only because the refresh renewed it
        Assert.Equal("v", await t.Cached<string>("k"));
        Assert.Equal(2, runs);
    }

    [Fact]
    public void AnOverlongETag_IsRejected_NamingTheProperty()
    {
        using var t = TestCache.Create();
        FactoryContext<string>? context = null;
        _ = t.Cache.GetOrSet<string>("k", ctx => { context = ctx; return Task.FromResult(Either<Err, string>.Right("v")); });

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => context!.ETag = new string('x', FactoryContext<string>.MaxETagLength + 1));

        Assert.Equal("ETag", e.ParamName);
        Assert.Contains("at most 8192", e.Message);
    }
}
