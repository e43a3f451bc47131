using Fusion;
using LanguageExt;

namespace Demo;

/// <summary>With fail-safe off, a failing source is an ordinary value: a Left carrying an Err. Nothing is thrown, nothing is cached.</summary>
internal static class ErrorScene
{
    public static async Task Run()
    {
        using var cache = new FusionCacheBuilder().Build(); // defaults: fail-safe off
        var factoryCalls = 0;

        Task<Either<Err, string>> LoadUser()
        {
            Interlocked.Increment(ref factoryCalls);
            return Task.FromResult(Either<Err, string>.Left(Err.Of("user database unreachable")));
        }

        var result = await cache.GetOrSet("user:7", LoadUser);
        result.Match(
            Right: v => Console.WriteLine($"  got a value?! {v}"),
            Left: e => Console.WriteLine($"  read -> Left: \"{e.Message}\" (case {e.GetType().Name})"));

        var again = await cache.GetOrSet("user:7", LoadUser);
        Console.WriteLine($"  read again -> {Show.Result(again)}  (factory calls: {factoryCalls}: errors are not cached)");
    }
}
