using LanguageExt;

namespace Fusion.Tests.Support;

/// <summary>Assertions over the cache's <c>Either</c> and <c>Option</c> results.</summary>
internal static class Expect
{
    public static T Right<T>(Either<Err, T> result)
    {
        if (result.IsBottom) throw new Xunit.Sdk.XunitException("expected Right, got Bottom");
        return result.Match(Right: static v => v, Left: static e => throw new Xunit.Sdk.XunitException($"expected Right, got Left({e})"));
    }

    public static Err Left<T>(Either<Err, T> result)
    {
        if (result.IsBottom) throw new Xunit.Sdk.XunitException("expected Left, got Bottom");
        return result.Match(Right: static v => throw new Xunit.Sdk.XunitException($"expected Left, got Right({v})"), Left: static e => e);
    }

    /// <summary>The error is the given case; returns it typed.</summary>
    public static TCase Left<TCase, T>(Either<Err, T> result) where TCase : Err => Assert.IsType<TCase>(Left(result));

    public static T Some<T>(Option<T> option) =>
        option.Match(Some: static v => v, None: static () => throw new Xunit.Sdk.XunitException("expected Some, got None"));

    public static void None<T>(Option<T> option) =>
        Assert.True(option.IsNone, $"expected None, got {option}");

    public static async Task<T> Right<T>(ValueTask<Either<Err, T>> result) => Right(await Eventually.Within(result));

    public static async Task<Err> Left<T>(ValueTask<Either<Err, T>> result) => Left(await Eventually.Within(result));
}
