using System.Diagnostics;

namespace Fusion.Tests;

/// <summary>The error type as C# sees it: the <c>Err.Of</c> constructors, equality, and a switch over every case.</summary>
public sealed class ErrTests
{
    /// <summary>A C# switch over the F# union, as users write it: one arm per case and an unreachable default.</summary>
    private static string Describe(Err err) => err switch
    {
        Err.FactoryFailed f => $"factory failed: {f.Reason} ({f.Exception?.GetType().Name ?? "no exception"})",
        Err.FactoryTimedOut t => $"timed out after {t.After.TotalSeconds} s",
        Err.DistributedFailed d => $"L2 failed: {d.Reason} ({d.Exception?.GetType().Name ?? "no exception"})",
        Err.PayloadUnreadable p => $"unreadable: {p.Reason}",
        Err.WrongType w => $"{w.Key}: {w.Actual} is not {w.Expected}",
        Err.Cancelled c => $"cancelled: {c.Reason}",
        _ => throw new UnreachableException(),
    };

    [Fact]
    public void Of_WithAMessage_IsFactoryFailedWithThatReasonAndNoException()
    {
        var error = Assert.IsType<Err.FactoryFailed>(Err.Of("db down"));

        Assert.Equal("db down", error.Reason);
        Assert.Null(error.Exception);
        Assert.Equal("factory failed: db down", error.Message);
    }

    [Fact]
    public void Of_WithAnException_IsFactoryFailedCarryingItAndItsMessage()
    {
        var thrown = new InvalidOperationException("db down");

        var error = Assert.IsType<Err.FactoryFailed>(Err.Of(thrown));

        Assert.Same(thrown, error.Exception);
        Assert.Equal("db down", error.Reason);
    }

    [Fact]
    public void Equality_IsByCaseAndText_WithExceptionsComparedByReference()
    {
        var thrown = new InvalidOperationException("x");

        Assert.Equal(Err.Of("x"), Err.Of("x"));
        Assert.Equal(Err.Of("x").GetHashCode(), Err.Of("x").GetHashCode());
        Assert.NotEqual(Err.Of("x"), Err.Of("y"));
        Assert.NotEqual(Err.Of("x"), Err.NewDistributedFailed("x", null));
        Assert.Equal(Err.Of(thrown), Err.Of(thrown));
        Assert.NotEqual(Err.Of(thrown), Err.Of(new InvalidOperationException("x")));
        Assert.NotEqual(Err.NewCancelled("x"), Err.NewPayloadUnreadable("x"));
    }

    [Fact]
    public void Switch_OnFactoryFailed_TakesItsArm() =>
        Assert.Equal("factory failed: boom (TimeoutException)", Describe(Err.Of(new TimeoutException("boom"))));

    [Fact]
    public void Switch_OnFactoryTimedOut_TakesItsArm()
    {
        var error = Err.NewFactoryTimedOut(TimeSpan.FromSeconds(2));

        Assert.Equal("timed out after 2 s", Describe(error));
        Assert.Equal("factory timed out after 2000 ms", error.Message);
    }

    [Fact]
    public void Switch_OnDistributedFailed_TakesItsArm()
    {
        var error = Err.NewDistributedFailed("redis down", null);

        Assert.Equal("L2 failed: redis down (no exception)", Describe(error));
        Assert.Equal("distributed cache failed: redis down", error.Message);
    }

    [Fact]
    public void Switch_OnPayloadUnreadable_TakesItsArm()
    {
        var error = Err.NewPayloadUnreadable("bad version");

        Assert.Equal("unreadable: bad version", Describe(error));
        Assert.Equal("payload unreadable: bad version", error.Message);
    }

    [Fact]
    public void Switch_OnWrongType_TakesItsArm()
    {
        var error = Err.NewWrongType("k", "String", "Int32");

        Assert.Equal("k: Int32 is not String", Describe(error));
        Assert.Equal("key 'k' holds a Int32, not a String", error.Message);
    }

    [Fact]
    public void Switch_OnCancelled_TakesItsArm()
    {
        var error = Err.NewCancelled("caller gave up");

        Assert.Equal("cancelled: caller gave up", Describe(error));
        Assert.Equal(error.Message, error.ToString());
    }
}
