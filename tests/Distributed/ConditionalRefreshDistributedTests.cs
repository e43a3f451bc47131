using System.Text;
using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using LanguageExt;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>
/// Conditional refresh across nodes against a real Redis (SEMANTICS §4b): the ETag and LastModified travel in the L2
/// envelope (docs/wire-format.md), so any node's next run is given them, and its "not modified" renews L2 for everyone.
/// </summary>
public sealed class ConditionalRefreshDistributedTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(600);
    private static readonly DateTimeOffset Monday = new(2029, 12, 31, 8, 0, 0, TimeSpan.Zero);

    private async Task<Nodes> Start(int count)
    {
        var nodes = Nodes.Start(redis.Server.ConnectionString(), count, b => b.WithDuration(Short).WithFailSafe(maxDuration: TimeSpan.FromMinutes(5)), log);
        await nodes.WaitSubscribed(await Admin.Of(redis));
        return nodes;
    }

    [Fact]
    public async Task TheValidatorTravelsThroughL2_AndNotModifiedOnBRenewsTheEntryForA()
    {
        using var nodes = await Start(2);
        var admin = await Admin.Of(redis);
        Assert.Equal("v1", await Expect.Right(nodes.A.GetOrSet<string>("k", ctx => Task.FromResult(ctx.Modified("v1", "\"e1\"", Monday)))));

        var written = await admin.Stored(nodes, "k");
        Assert.Equal(4, written.Flags & 4);
        Assert.Equal(("\"e1\"", Monday.UtcTicks), (written.ETag, written.Validator!.Value.LastModified));
        Assert.Equal("\"v1\"", written.PayloadText);

        await Task.Delay(Short + TimeSpan.FromMilliseconds(200)); // stale everywhere, still in L2 (fail-safe)
        (string? ETag, DateTimeOffset? LastModified, string? Stale) seen = default;
        var renewed = await Expect.Right(nodes.B.GetOrSet<string>("k", ctx =>
        {
            seen = (ctx.StaleETag, ctx.StaleLastModified, ctx.StaleValue.Case as string);
            return Task.FromResult(ctx.NotModified());
        }));

        Assert.Equal("v1", renewed);
        Assert.Equal(("\"e1\"", (DateTimeOffset?)Monday, "v1"), seen); // B had only L2's copy: the validator came from there
        var rewritten = await admin.Stored(nodes, "k");
        Assert.True(rewritten.Timestamp > written.Timestamp, "a not-modified answer is a new write of the value");
        Assert.True(rewritten.LogicalExpiry > DateTimeOffset.UtcNow.UtcTicks, "L2 holds the value fresh again");
        Assert.Equal(("\"e1\"", "\"v1\""), (rewritten.ETag, rewritten.PayloadText));

        // A, told by the backplane, drops its stale copy and reads the renewed entry: fresh, without a factory run.
        await Eventually.Assert(async () => (await nodes.A.TryGet<string>("k")).IfNone("") == "v1", "A reads the renewed value as fresh");
    }

    [Fact]
    public async Task AnEnvelopeWrittenFromTheDocument_GivesItsValidatorToTheFactory()
    {
        using var nodes = await Start(1);
        var db = (await Admin.Of(redis)).GetDatabase();
        var past = DateTimeOffset.UtcNow.AddSeconds(-10).UtcTicks;
        var stale = new Wire.Envelope(Wire.Version, past, 1, past + 1, past + TimeSpan.FromMinutes(5).Ticks, long.MaxValue, 4, 0, "\"old\""u8.ToArray())
        {
            Validator = (Encoding.UTF8.GetBytes("W/\"é\""), Monday.UtcTicks),
        };
        await db.StringSetAsync(nodes.RedisKey("k"), stale.ToBytes(), TimeSpan.FromMinutes(5));
        string? etag = null;

        var value = await Expect.Right(nodes.A.GetOrSet<string>("k", ctx =>
        {
            etag = ctx.StaleETag;
            return Task.FromResult(ctx.StaleLastModified == Monday ? ctx.NotModified() : Either<Err, string>.Right("new"));
        }));

        Assert.Equal(("old", "W/\"é\""), (value, etag));
    }
}
