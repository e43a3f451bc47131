using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>Invariant 8 in L2: a result computed before a Set never overwrites it, in Redis or in any node's L1.</summary>
public sealed class L2OrderingTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>
{
    private async Task<Nodes> Start(int count, Func<FusionCacheBuilder, FusionCacheBuilder> configure)
    {
        var nodes = Nodes.Start(redis.Server.ConnectionString(), count, configure, log);
        await nodes.WaitSubscribed(await Admin.Of(redis));
        return nodes;
    }

    private async Task<Wire.Envelope> Stored(Nodes nodes, string key) =>
        await (await Admin.Of(redis)).Stored(nodes, key);

    [Fact]
    public async Task FlightOnBThatBeganBeforeASetOnA_DoesNotOverwriteTheSet()
    {
        using var nodes = await Start(2, b => b.WithDuration(TimeSpan.FromMinutes(1)));
        var slow = TestFactory<string>.Waiting();
        var read = nodes.B.GetOrSet<string>("k", slow.Invoke).AsTask();
        await Poll.Until(() => Task.FromResult(slow.Calls == 1), Nodes.Bound, "B's factory starts");

        await nodes.Delivered(0, a => a.Set("k", "newer"));
        var written = await Stored(nodes, "k");
        // A's Set superseded B's flight: its caller, which overlapped the Set, gets the flight's result,
        // but the result lands nowhere and is never announced (SEMANTICS §3.6).
        slow[1].Succeed("older");
        Assert.Equal("older", Expect.Right(await read));

        var stored = await Stored(nodes, "k");
        Assert.Equal("\"newer\"", stored.PayloadText);
        Assert.Equal(written.Timestamp, stored.Timestamp);
        var unused = TestFactory<string>.Returning("unused");
        Assert.Equal("newer", await Expect.Right(nodes.B.GetOrSet<string>("k", unused.Invoke)));
        Assert.Equal("newer", await Expect.Right(nodes.A.GetOrSet<string>("k", unused.Invoke)));
        Assert.Equal(0, unused.Calls);
        Assert.Equal(0, Interlocked.Read(ref nodes.A.Distributed!.Backplane.Applied));
    }

    [Fact]
    public async Task FlightThatBeganBeforeASetOnTheSameNodeWithinOneClockStep_DoesNotOverwriteTheSetInL2()
    {
        using var nodes = await Start(2, b => b.WithDuration(TimeSpan.FromMinutes(1)));
        const int Keys = 10;
        var slow = TestFactory<string>.Waiting();
        var reads = new List<Task<LanguageExt.Either<Err, string>>>();

        for (var i = 0; i < Keys; i++)
        {
            reads.Add(nodes.A.GetOrSet<string>($"k{i}", slow.Invoke).AsTask()); // the flight begins now
            await nodes.A.Set($"k{i}", "newer"); // right after: usually the same step of the cache's clock
        }
        await Poll.Until(() => Task.FromResult(slow.Calls == Keys), Nodes.Bound, "every factory starts");
        for (var i = 1; i <= Keys; i++) slow[i].Succeed("older");
        await Task.WhenAll(reads).WaitAsync(Nodes.Bound); // superseded by the Sets: they write nothing
        await nodes.WaitApplied(1, Keys); // the Sets' notifications; the flights announce nothing

        var overwritten = new List<string>();
        for (var i = 0; i < Keys; i++)
            if ((await (await Admin.Of(redis)).Stored(nodes, $"k{i}")).PayloadText != "\"newer\"") overwritten.Add($"k{i}");
        var unused = TestFactory<string>.Returning("unused");
        var onB = new List<string>();
        for (var i = 0; i < Keys; i++) onB.Add(await Expect.Right(nodes.B.GetOrSet<string>($"k{i}", unused.Invoke)));
        Assert.True(overwritten.Count == 0,
            $"the flights' older results replaced the Set in L2 for {overwritten.Count} of {Keys} keys ({string.Join(", ", overwritten)}); " +
            $"A serves {await Expect.Right(nodes.A.GetOrSet<string>("k0", unused.Invoke))}, B serves {string.Join(", ", onB)}");
    }

    [Fact]
    public async Task BackgroundCompletionThatBeganBeforeASet_DoesNotOverwriteTheSet()
    {
        using var nodes = await Start(2, b => b.WithDuration(TimeSpan.FromMinutes(1)).WithFailSafe());
        await nodes.Delivered(0, a => a.Set("k", "first"));
        await nodes.Delivered(0, a => a.Expire("k"));
        var slow = TestFactory<string>.Waiting();
        var soft = new FusionCacheEntryOptions { FactorySoftTimeout = TimeSpan.FromMilliseconds(50) };
        Assert.Equal("first", await Expect.Right(nodes.A.GetOrSet<string>("k", slow.Invoke, soft))); // the factory goes on

        await nodes.Delivered(0, a => a.Set("k", "newer"));
        var written = await Stored(nodes, "k");
        var applied = nodes.Applied(1);
        slow[1].Succeed("older"); // superseded by the Set: it lands nowhere and announces nothing
        await Poll.Until(() => Task.FromResult(nodes.A.InFlightCount == 0), Nodes.Bound, "the timed-out flight ends");

        var stored = await Stored(nodes, "k");
        Assert.Equal("\"newer\"", stored.PayloadText);
        Assert.Equal(written.Timestamp, stored.Timestamp);
        var unused = TestFactory<string>.Returning("unused");
        Assert.Equal("newer", await Expect.Right(nodes.A.GetOrSet<string>("k", unused.Invoke)));
        Assert.Equal("newer", await Expect.Right(nodes.B.GetOrSet<string>("k", unused.Invoke)));
        Assert.Equal(0, unused.Calls);
        Assert.Equal(applied, nodes.Applied(1));
    }

    [Fact]
    public async Task RemoveOnA_IsNotUndoneByAFlightOnBThatBeganBeforeIt()
    {
        using var nodes = await Start(2, b => b.WithDuration(TimeSpan.FromMinutes(1)));
        await nodes.Delivered(0, a => a.Set("k", "v1"));
        await nodes.Delivered(0, a => a.Expire("k"));
        var slow = TestFactory<string>.Waiting();
        var read = nodes.B.GetOrSet<string>("k", slow.Invoke).AsTask();
        await Poll.Until(() => Task.FromResult(slow.Calls == 1), Nodes.Bound, "B's factory starts");

        await nodes.Delivered(0, a => a.Remove("k"));
        slow[1].Succeed("older"); // superseded by the Remove's notification: its caller gets it, nobody else
        Assert.Equal("older", Expect.Right(await read));

        Assert.True((await Stored(nodes, "k")).IsTombstone, "the older result replaced the remove's tombstone");
        Expect.None(await nodes.A.TryGet<string>("k"));
        Expect.None(await nodes.B.TryGet<string>("k"));
    }
}
